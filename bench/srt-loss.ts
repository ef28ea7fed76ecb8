// SRT under injected loss: the relay's TypeScript SRT listener against libsrt's own receiver
// (`srt-live-transmit` as listener), on the same input, through the same seeded lossy UDP relay, alternating
// in one run. The sender is libsrt (`srt-live-transmit` as caller) fed the same 6 Mb/s MPEG-TS over UDP.
//   - lost packets: 1316-byte datagrams of the input that never reached the receiver's output;
//   - CPU % of the receiving process (one core = 100) over the transfer, and its peak RSS.
// BENCH_BUSY=<n> runs n busy loops (one per core: 2 here) through every trial, both receivers alike.
// Run: npm run bench -- srt-loss     (writes bench/results/srt-loss.json)
//      BENCH_BUSY=2 npm run bench -- srt-loss     (writes bench/results/srt-loss-busy.json)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, srtLiveTransmitFile } from '../test/relay/srt/peers.ts';
import { startLossyProxy } from '../test/support/lossy-udp-proxy.ts';
import { busyLoops, cpuSeconds, median, ROOT, round, rssMiB, writeResult } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LOSS = Number(process.env.BENCH_LOSS ?? 0.1);
const BUSY = Number(process.env.BENCH_BUSY ?? 0);
const LATENCY_MS = 120;
const BITRATE = 6_000_000;
const DATAGRAM = 1316;
const dir = mkdtempSync(join(tmpdir(), 'edge-live-bench-'));
const input = join(dir, 'input.ts');

const made = spawnSync('ffmpeg', [
  ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30'],
  ...[
    '-f',
    'lavfi',
    '-i',
    'sine=sample_rate=48000',
    '-t',
    String(SECONDS),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
  ],
  ...['-g', '30', '-b:v', '5800k', '-maxrate', '5800k', '-bufsize', '2000k', '-x264-params', 'nal-hrd=cbr'],
  ...['-c:a', 'aac', '-b:a', '128k', '-muxrate', String(BITRATE), '-f', 'mpegts', input],
]);
if (made.status !== 0) throw new Error(`making the input failed: ${made.stderr}`);
const inputBytes = statSync(input).size;

async function stop(child: ChildProcess): Promise<string> {
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  if (child.exitCode === null) {
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
  return stdout;
}

async function trial(receiver: 'relay' | 'libsrt', seed: number) {
  const port = await freeUdpPort();
  const out = join(dir, `${receiver}-${seed}.ts`);
  const child =
    receiver === 'relay'
      ? spawn(process.execPath, [join(ROOT, 'bench', 'srt-sink.ts'), String(port), out, String(LATENCY_MS)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        })
      : spawn(
          'sh',
          [
            '-c',
            `exec srt-live-transmit -q -a:no "srt://127.0.0.1:${port}?mode=listener&latency=${LATENCY_MS}" file://con > ${out}`,
          ],
          { stdio: ['ignore', 'ignore', 'ignore'] },
        );
  await new Promise((r) => setTimeout(r, 700));
  const pid = child.pid as number;
  const proxy = await startLossyProxy({
    target: { host: '127.0.0.1', port },
    loss: LOSS,
    seed,
    lifetimeMs: (SECONDS + 30) * 1000,
  });
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  let peak = 0;
  // Sampled, since srt-live-transmit as listener may exit (and leave /proc) as soon as the caller is done.
  let cpu1 = c0;
  let t1 = t0;
  const sampler = setInterval(() => {
    if (child.exitCode !== null) return;
    try {
      peak = Math.max(peak, rssMiB(pid));
      cpu1 = cpuSeconds(pid);
      t1 = performance.now();
    } catch {
      // exited between the check and the read
    }
  }, 250);
  let connected = false;
  const connectWatch = setInterval(() => {
    connected ||= statSync(out, { throwIfNoEntry: false }) !== undefined && proxy.stats.forwarded > 4;
  }, 20);
  await srtLiveTransmitFile(input, `srt://127.0.0.1:${proxy.port}?streamid=bench&latency=${LATENCY_MS}`, {
    bytesPerSecond: BITRATE / 8,
    tailMs: 2000,
    timeoutMs: (SECONDS + 25) * 1000,
    connected: () => connected,
  });
  clearInterval(connectWatch);
  clearInterval(sampler);
  // Our sink runs until SIGTERM; srt-live-transmit as listener exits by itself once the caller shuts down.
  if (receiver === 'relay' && child.exitCode !== null) {
    throw new Error(`the relay's SRT sink exited early (code ${child.exitCode})`);
  }
  const cpu = ((cpu1 - c0) / ((t1 - t0) / 1000)) * 100;
  await new Promise((r) => setTimeout(r, 500));
  const stdout = await stop(child);
  await proxy.close();
  // The sink prints its connection stats on SIGTERM: too-late drops and belated arrivals, ours only.
  const stats =
    receiver === 'relay'
      ? (JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as {
          dropped: number;
          belated: number;
          belatedMaxUs: number;
        } | null)
      : null;
  const received = statSync(out).size;
  const lost = Math.max(0, Math.round((inputBytes - received) / DATAGRAM));
  return {
    receiver,
    seed,
    lostDatagrams: lost,
    receivedBytes: received,
    cpuPercent: cpu,
    peakRssMiB: peak,
    dropped: proxy.stats.dropped,
    ...(stats
      ? {
          tooLateDrops: stats.dropped,
          belated: stats.belated,
          belatedMaxMs: round(stats.belatedMaxUs / 1000),
        }
      : {}),
  };
}

const stopBusy = busyLoops(BUSY, ROUNDS * 2 * (SECONDS + 60));
try {
  const trials: Awaited<ReturnType<typeof trial>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const seed = 1000 + r;
    trials.push(await trial('relay', seed));
    trials.push(await trial('libsrt', seed));
  }
  const pick = (who: string) => trials.filter((t) => t.receiver === who);
  const sum = (who: string) => ({
    lostDatagrams: pick(who).map((t) => t.lostDatagrams),
    cpuPercentMedian: round(median(pick(who).map((t) => t.cpuPercent)), 2),
    peakRssMiBMedian: round(median(pick(who).map((t) => t.peakRssMiB))),
  });
  const result = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    input: `${SECONDS} s MPEG-TS at ${BITRATE / 1e6} Mb/s (${Math.round(inputBytes / DATAGRAM)} datagrams of ${DATAGRAM} bytes)`,
    loss: `${LOSS * 100} % each way, seeded; latency ${LATENCY_MS} ms; sender srt-live-transmit (libsrt)`,
    cpuPressure: `${BUSY} busy loops on ${availableParallelism()} cores`,
    relay: sum('relay'),
    libsrt: sum('libsrt'),
    trials: trials.map((t) => ({
      ...t,
      cpuPercent: round(t.cpuPercent, 2),
      peakRssMiB: round(t.peakRssMiB),
    })),
  };
  writeResult(BUSY > 0 ? 'srt-loss-busy.json' : 'srt-loss.json', result);
} finally {
  stopBusy();
  rmSync(dir, { recursive: true, force: true });
}
