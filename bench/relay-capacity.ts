// How many concurrent passthrough streams one relay carries on this box, and what each costs.
//   - source: one pre-encoded 1280x720@30 H.264 3 Mb/s + AAC 128 kb/s file (1 s GOP), replayed by ffmpeg
//     with `-re -stream_loop -1 -c copy` per stream (live x264 publishers would eat the cores);
//   - relay: the real process, uploading to a sink that answers the Worker's ingest contract at once
//     (bench/relay-rig.ts), so workerd's CPU stays out of the figure;
//   - steps of N streams (1, 2, 4, 8, ...): after a settle, a window in which the relay's CPU (one core = 100 %),
//     RSS, the parts each stream delivered, holes in any stream's part numbering and the relay's own
//     cut-to-acknowledged p99 (its health reports) are measured. A step passes with zero lost parts, every
//     stream keeping real time and p99 under 100 ms; the first step that fails ends the run;
//   - idle: the relay's CPU with no stream at all, its fixed cost, before the first step;
//   - baseline, in the same run: `ffmpeg -c copy -f hls -hls_segment_type fmp4` for the same N (1 and 4), its
//     CPU per stream, twice: listening for the same publisher over the same protocol (the ratio's baseline: the
//     same input), and reading the file itself.
// BENCH_PROTOCOL=srt publishes MPEG-TS over SRT through a lossy UDP relay (BENCH_LOSS, default 0.02) instead.
// Run: npm run bench -- relay-capacity     (writes bench/results/relay-capacity[-srt].json; BENCH_STEPS=16,64 and
// BENCH_BASELINES=0 narrow a run)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../scripts/stack.ts';
import { startLossyProxy } from '../test/support/lossy-udp-proxy.ts';
import { cpuSeconds, median, round, rssMiB, writeResult } from './lib.ts';
import { makeBenchInput, SinkWorker, startRelayProcess, stopChild } from './relay-rig.ts';

const PROTOCOL = process.env.BENCH_PROTOCOL === 'srt' ? 'srt' : 'rtmp';
const LOSS = Number(process.env.BENCH_LOSS ?? 0.02);
const STEPS = (process.env.BENCH_STEPS ?? '1,2,4,8,16,32,48,64,96,128').split(',').map(Number);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 6);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 15);
/**
 * Parts a stream delivers per second: at 30 fps with a 1 s GOP and 0.333 s parts, the GOP planner cuts
 * 3 + 9 + 9 + 9 frames (cmaf/gop-plan.ts), four parts a second.
 */
const PARTS_PER_SECOND = 4;
const P99_LIMIT_MS = 100;
const dir = mkdtempSync(join(tmpdir(), 'edge-live-capacity-'));
const input = join(dir, PROTOCOL === 'srt' ? 'input.ts' : 'input.flv');

makeBenchInput(input, 20);

const sink = new SinkWorker();
await sink.start();
// Every publisher connects from 127.0.0.1, so the per-IP limit (default 32) is lifted to the global one.
const relay = await startRelayProcess(sink.url, {
  env: { LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_IP: '1000' },
});
const lossy =
  PROTOCOL === 'srt'
    ? await startLossyProxy({
        target: { host: '127.0.0.1', port: relay.srtPort },
        loss: LOSS,
        seed: 7,
        lifetimeMs: 30 * 60_000,
      })
    : undefined;

function publisher(i: number): ChildProcess {
  const key = `bench-${i}`;
  return replay(
    PROTOCOL === 'srt'
      ? `srt://127.0.0.1:${lossy!.port}?streamid=${key}&latency=120000`
      : `${relay.rtmpUrl}/${key}`,
  );
}

/** The input replayed in real time, as is, to `url` over the bench's protocol: one encoder's stream. */
function replay(url: string): ChildProcess {
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', input, '-c', 'copy'];
  return spawn('ffmpeg', [...args, '-f', PROTOCOL === 'srt' ? 'mpegts' : 'flv', url], { stdio: 'ignore' });
}

/** CPU % of one core used by `pids` over `seconds`, and the relay's RSS sampled every 250 ms (peak). */
async function window(pids: number[], seconds: number) {
  const c0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  let peakRss = 0;
  while (performance.now() - t0 < seconds * 1000) {
    peakRss = Math.max(peakRss, rssMiB(relay.pid));
    await sleep(250);
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { cpu: pids.map((pid, i) => ((cpuSeconds(pid) - c0[i]!) / elapsed) * 100), peakRss };
}

let publishersExited: { streams: number; exited: number } | null = null;

async function step(publishers: ChildProcess[], n: number) {
  while (publishers.length < n) publishers.push(publisher(publishers.length));
  await sleep(SETTLE_S * 1000);
  const gone = publishers.filter((p) => p.exitCode !== null || p.signalCode !== null).length;
  if (gone > 0) {
    // A publisher that exits (refused, or the box out of CPU for it) ends the run at this step.
    console.log(JSON.stringify({ streams: n, publishersExited: gone }));
    for (const line of relay.lines.slice(-20)) console.log(`relay: ${line}`);
    publishersExited = { streams: n, exited: gone };
    return undefined;
  }
  const from = Date.now();
  const missingBefore = sink.missingParts();
  const w = await window([relay.pid, ...publishers.map((p) => p.pid as number)], WINDOW_S);
  const to = Date.now();
  const live = sink.sessions.filter((s) => s.ended === undefined);
  const partsPerStream = live.map((s) => s.arrivals.filter((t) => t >= from && t < to).length);
  const expected = WINDOW_S * PARTS_PER_SECOND;
  const p99s = live.flatMap((s) =>
    s.health.filter((h) => h.at >= from && h.at < to).map((h) => h.uploadLatencyMs?.p99 ?? 0),
  );
  const givenUp = live.reduce((n, s) => n + (s.health.at(-1)?.partsGivenUp ?? 0), 0);
  const lost = sink.missingParts() - missingBefore + givenUp;
  const result = {
    streams: n,
    sessions: live.length,
    relayCpuPercent: round(w.cpu[0]!, 1),
    relayCpuPerStream: round(w.cpu[0]! / n, 2),
    publishersCpuPercent: round(
      w.cpu.slice(1).reduce((a, b) => a + b, 0),
      1,
    ),
    relayRssMiB: round(w.peakRss, 1),
    partsPerStreamMin: Math.min(...partsPerStream),
    partsExpected: Math.floor(expected),
    lostParts: lost,
    uploadP99MsMax: round(Math.max(0, ...p99s), 1),
  };
  const ok =
    live.length === n &&
    lost === 0 &&
    result.partsPerStreamMin >= expected * 0.9 &&
    result.uploadP99MsMax < P99_LIMIT_MS;
  console.log(JSON.stringify({ ...result, ok }));
  return { ...result, ok };
}

/**
 * `ffmpeg -c copy -f hls` of the same stream, `n` at once: CPU per stream. `received`: each ffmpeg listens for
 * the same publisher the relay gets (RTMP, or SRT through the same lossy proxy), so it pays for the same input
 * on the same loopback; otherwise it reads the file itself, as a packager with no network in front would.
 */
async function baseline(n: number, received: boolean) {
  const out = join(dir, `hls-${n}-${received}`);
  const senders: ChildProcess[] = [];
  const proxies: Awaited<ReturnType<typeof startLossyProxy>>[] = [];
  const packagers: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    mkdirSync(join(out, String(i)), { recursive: true });
    const port = await freePort();
    const inputArgs = !received
      ? ['-re', '-stream_loop', '-1', '-i', input]
      : PROTOCOL === 'srt'
        ? ['-i', `srt://127.0.0.1:${port}?mode=listener&latency=120000`]
        : ['-listen', '1', '-i', `rtmp://127.0.0.1:${port}/live/b${i}`];
    packagers.push(
      spawn(
        'ffmpeg',
        [
          ...['-hide_banner', '-loglevel', 'error', ...inputArgs, '-c', 'copy'],
          // MPEG-TS carries AAC in ADTS; fMP4 wants the bare frames.
          ...(PROTOCOL === 'srt' ? ['-bsf:a', 'aac_adtstoasc'] : []),
          ...['-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_list_size', '6'],
          ...['-hls_flags', 'delete_segments', join(out, String(i), 'index.m3u8')],
        ],
        { stdio: 'ignore' },
      ),
    );
    if (!received) continue;
    await sleep(300); // the listener binds before its publisher dials
    let url = `rtmp://127.0.0.1:${port}/live/b${i}`;
    if (PROTOCOL === 'srt') {
      const proxy = await startLossyProxy({
        target: { host: '127.0.0.1', port },
        loss: LOSS,
        seed: 7 + i,
        lifetimeMs: 5 * 60_000,
      });
      proxies.push(proxy);
      url = `srt://127.0.0.1:${proxy.port}?latency=120000`;
    }
    senders.push(replay(url));
  }
  await sleep(SETTLE_S * 1000);
  const pids = packagers.map((c) => c.pid as number);
  const c0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = pids.map((pid, i) => ((cpuSeconds(pid) - c0[i]!) / elapsed) * 100);
  const rss = pids.map(rssMiB);
  await Promise.all([...senders, ...packagers].map((c) => stopChild(c)));
  await Promise.all(proxies.map((p) => p.close()));
  return {
    streams: n,
    input: received ? PROTOCOL : 'file',
    cpuPerStream: round(cpu.reduce((a, b) => a + b, 0) / n, 2),
    rssMiBEach: round(median(rss), 1),
  };
}

const publishers: ChildProcess[] = [];
const steps: NonNullable<Awaited<ReturnType<typeof step>>>[] = [];
const baselines: Awaited<ReturnType<typeof baseline>>[] = [];
let idleCpuPercent = Number.NaN;
try {
  if (process.env.BENCH_BASELINES !== '0')
    for (const received of [true, false])
      baselines.push(await baseline(1, received), await baseline(4, received));
  idleCpuPercent = round((await window([relay.pid], WINDOW_S)).cpu[0]!, 2);
  console.log(JSON.stringify({ streams: 0, relayCpuPercent: idleCpuPercent }));
  for (const n of STEPS) {
    const s = await step(publishers, n);
    if (s) steps.push(s);
    if (!s?.ok) break;
  }
} finally {
  await Promise.all(publishers.map((p) => stopChild(p)));
  await relay.stop();
  await lossy?.close();
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
}
const passed = steps.filter((s) => s.ok);
const best = passed.at(-1);
const one = steps.find((s) => s.streams === 1);
const four = steps.find((s) => s.streams === 4);
const marginalRss =
  best && one && best.streams > 1
    ? round((best.relayRssMiB - one.relayRssMiB) / (best.streams - 1), 2)
    : null;
/** The relay's CPU for each stream past the first, % of a core: the cost of one more stream. */
const marginalCpu =
  best && one && best.streams > 1
    ? round((best.relayCpuPercent - one.relayCpuPercent) / (best.streams - 1), 2)
    : null;
writeResult(PROTOCOL === 'srt' ? 'relay-capacity-srt.json' : 'relay-capacity.json', {
  at: new Date().toISOString(),
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
  protocol: PROTOCOL,
  ...(PROTOCOL === 'srt' ? { loss: LOSS, latencyMs: 120 } : {}),
  input: '1280x720@30 H.264 3 Mb/s + AAC 128 kb/s, 1 s GOP, replayed with -c copy',
  windowSeconds: WINDOW_S,
  streamsCarried: best?.streams ?? 0,
  firstFailingStep: steps.find((s) => !s.ok) ?? null,
  publishersExited,
  relayIdleCpuPercent: idleCpuPercent,
  marginalRssMiBPerStream: marginalRss,
  marginalCpuPercentPerStream: marginalCpu,
  /** Against ffmpeg taking the same stream over the same protocol, and against ffmpeg reading the file. */
  cpuPerStreamVsFfmpegHls: {
    at1: one ? round(one.relayCpuPerStream / ffmpegHlsAt(1, PROTOCOL), 2) : null,
    at4: four ? round(four.relayCpuPerStream / ffmpegHlsAt(4, PROTOCOL), 2) : null,
    at1VsFile: one ? round(one.relayCpuPerStream / ffmpegHlsAt(1, 'file'), 2) : null,
    at4VsFile: four ? round(four.relayCpuPerStream / ffmpegHlsAt(4, 'file'), 2) : null,
  },
  ffmpegHls: baselines,
  steps,
});

function ffmpegHlsAt(n: number, input: string): number {
  return baselines.find((b) => b.streams === n && b.input === input)?.cpuPerStream ?? Number.NaN;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
