// CPU and memory of the relay for one passthrough stream, against ffmpeg remuxing the same input to fMP4 HLS
// (`-c copy -f hls`), measured side by side in one run, alternating, `ROUNDS` times each:
//   - input: 1280x720@30 H.264 ~6 Mb/s + AAC 128 kb/s, 1 s GOP, made once by ffmpeg;
//   - relay: `ffmpeg -re -i input.flv -c copy -f flv rtmp://relay/...`, the relay process's CPU time (utime +
//     stime from /proc) over a 30 s window after 5 s of warm-up, and its peak RSS;
//   - baseline: `ffmpeg -re -i input.flv -c copy -f hls -hls_segment_type fmp4`, the same window and peak RSS.
// The relay's number includes everything it does per stream: RTMP, FLV demux, CMAF cutting, HTTP uploads.
// Run: npm run bench -- relay-cpu     (writes bench/results/relay-cpu.json)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, median, round, rssMiB, startBenchStack, writeResult } from './lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 30);
const WARMUP_S = 5;
const bench = await startBenchStack();
const { stack, dir } = bench;
const input = join(dir, 'input.flv');

/** CPU % (of one core) and peak RSS of `pid` over the window, sampling RSS every 250 ms. */
async function measure(pid: number) {
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  let peak = 0;
  while (performance.now() - t0 < WINDOW_S * 1000) {
    peak = Math.max(peak, rssMiB(pid));
    await new Promise((r) => setTimeout(r, 250));
  }
  const cpu = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
  return { cpuPercent: cpu, peakRssMiB: peak };
}

const make = spawnSync('ffmpeg', [
  ...['-hide_banner', '-loglevel', 'error', '-y'],
  ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=48000'],
  ...[
    '-t',
    String(WARMUP_S + WINDOW_S + 10),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '30',
    '-pix_fmt',
    'yuv420p',
  ],
  ...['-b:v', '6000k', '-maxrate', '6000k', '-bufsize', '3000k', '-c:a', 'aac', '-b:a', '128k', input],
]);
if (make.status !== 0) throw new Error(`making the input failed: ${make.stderr}`);

function run(args: string[]): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-i', input, '-c', 'copy', ...args], {
    stdio: 'ignore',
  });
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

try {
  const relay: { cpuPercent: number; peakRssMiB: number }[] = [];
  const remux: { cpuPercent: number; peakRssMiB: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const res = await fetch(`${stack.workerUrl}/v1/streams`, {
      method: 'POST',
      headers: { authorization: 'Bearer bench-api', 'content-type': 'application/json' },
      body: JSON.stringify({ name: `cpu ${r}`, ladder: 'passthrough' }),
    });
    const stream = (await res.json()) as { ingest: { rtmp: string } };
    const publisher = run(['-f', 'flv', stream.ingest.rtmp]);
    relay.push(await measure(stack.relay.pid as number));
    await stop(publisher);

    const out = join(dir, `hls-${r}`);
    mkdirSync(out);
    const ffmpeg = run([
      '-f',
      'hls',
      '-hls_time',
      '2',
      '-hls_segment_type',
      'fmp4',
      '-hls_list_size',
      '6',
      join(out, 'index.m3u8'),
    ]);
    remux.push(await measure(ffmpeg.pid as number));
    await stop(ffmpeg);
  }
  const result = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    input: '1280x720@30 H.264 6 Mb/s CBR + AAC 128 kb/s, 1 s GOP',
    rounds: ROUNDS,
    windowSeconds: WINDOW_S,
    relay: {
      cpuPercent: round(median(relay.map((x) => x.cpuPercent)), 2),
      peakRssMiB: round(median(relay.map((x) => x.peakRssMiB))),
    },
    ffmpegCopyHls: {
      cpuPercent: round(median(remux.map((x) => x.cpuPercent)), 2),
      peakRssMiB: round(median(remux.map((x) => x.peakRssMiB))),
    },
    relayToFfmpegCpu: round(
      median(relay.map((x) => x.cpuPercent)) / median(remux.map((x) => x.cpuPercent)),
      2,
    ),
    samples: { relay, ffmpegCopyHls: remux },
  };
  writeResult('relay-cpu.json', result);
} finally {
  await bench.stop();
}
