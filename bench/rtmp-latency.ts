// Latency of the RTMP -> LL-HLS path, measured in one run for two part targets (0.2 s and the 0.333 default):
//   - glass-to-glass in hls.js (Debian Chromium): now minus the program-date-time of the frame on screen,
//     sampled every 250 ms for 60 s after a 10 s warm-up. "Glass" is the relay's ingest clock: program-date-time
//     is stamped when the relay receives a frame, so encoder latency (x264 zerolatency, ~1 frame) is not in it.
//   - part cut -> advertised: from the moment the relay cuts a part (its debug log, same machine clock) to the
//     moment a viewer blocked on that part (_HLS_msn/_HLS_part) receives the playlist that lists it.
// Run: npm run bench -- rtmp-latency     (writes bench/results/rtmp-latency.json; BENCH_AUDIO=0: video only)
// A soak (issue 14): BENCH_SAMPLE_S=600 BENCH_PARTS=0.333 BENCH_GOP_S=2 npm run bench -- rtmp-latency samples
// ten minutes at the default part target with 2 s keyframes, and reports the latency's first and last minute
// (p50) and their difference, the creep (writes rtmp-latency-soak.json when the sample is 5 minutes or more).
import { spawn } from 'node:child_process';
import { Parser } from 'm3u8-parser';
import { launchChromium, testPatternArgs } from '../scripts/peers.ts';
import { median, round, startBenchStack, summary, writeResult } from './lib.ts';

const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 60);
const WARMUP_S = 10;
/** BENCH_AUDIO=0: video only, to see what waiting for audio to cover each part costs in latency. */
const AUDIO = process.env.BENCH_AUDIO !== '0';
const PART_TARGETS = (process.env.BENCH_PARTS ?? '0.2,0.333').split(',').map(Number);
const GOP_S = Number(process.env.BENCH_GOP_S ?? 1);
const SOAK = SAMPLE_S >= 300;

/** sessionId/msn.part -> wall clock the relay cut it. */
const cutAt = new Map<string, number>();
const bench = await startBenchStack({
  relayEnv: { LOG_LEVEL: 'debug' },
  output: (line: string, from: 'worker' | 'relay') => {
    if (from !== 'relay' || !line.includes('"part cut"')) return;
    const rec = JSON.parse(line) as { sessionId: string; msn: number; part: number; cutAt: number };
    cutAt.set(`${rec.sessionId}/${rec.msn}.${rec.part}`, rec.cutAt);
  },
});
const { stack } = bench;

interface Stream {
  id: string;
  streamKey: string;
  ingest: { rtmp: string };
  playback: { hls: string; player: string };
}

async function createStream(partTarget: number): Promise<Stream> {
  const res = await fetch(`${stack.workerUrl}/v1/streams`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-api', 'content-type': 'application/json' },
    body: JSON.stringify({ name: `latency ${partTarget}`, partTarget, ladder: 'passthrough' }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return (await res.json()) as Stream;
}

function parse(text: string) {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
}

/** The newest part a playlist lists: its URI and the (msn, part) a viewer asks for next. */
function edge(text: string) {
  const m = parse(text);
  const seq = m.mediaSequence ?? 0;
  const open = m.preloadSegment?.parts ?? [];
  const last = m.segments.at(-1);
  const lastUri = open.at(-1)?.uri ?? last?.parts?.at(-1)?.uri;
  const next = open.length
    ? { msn: seq + m.segments.length, part: open.length }
    : { msn: seq + m.segments.length, part: 0 };
  return { lastUri, next };
}

/** A viewer that always blocks on the next part, recording when each part became visible to it. */
async function blockedViewer(mediaUrl: string, until: number, advertised: number[]) {
  let text = await (await fetch(mediaUrl)).text();
  while (Date.now() < until) {
    const { next } = edge(text);
    const res = await fetch(`${mediaUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    text = await res.text();
    const arrived = Date.now();
    if (!res.ok) continue;
    const { lastUri } = edge(text);
    const cut = lastUri ? cutAt.get(lastUri.replace(/\.m4s$/, '')) : undefined;
    if (cut !== undefined) advertised.push(arrived - cut);
  }
}

async function measure(partTarget: number) {
  const stream = await createStream(partTarget);
  const seconds = WARMUP_S + SAMPLE_S + 15;
  const encoder = spawn(
    'ffmpeg',
    testPatternArgs({
      url: stream.ingest.rtmp,
      format: 'flv',
      seconds,
      videoBitrate: '1000k',
      gop: Math.round(GOP_S * 30),
      audio: AUDIO,
      logLevel: 'error',
    }),
    { stdio: 'ignore' },
  );
  const mediaUrl = stream.playback.hls.replace('master.m3u8', 'source/index.m3u8');
  for (let i = 0; i < 100; i++) {
    const res = await fetch(mediaUrl);
    if (res.ok && (await res.text()).includes('#EXT-X-PART:')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(stream.playback.player);
    await page.waitForTimeout(WARMUP_S * 1000);
    const advertised: number[] = [];
    const viewer = blockedViewer(mediaUrl, Date.now() + SAMPLE_S * 1000, advertised);
    const latencies: number[] = [];
    /** The latency samples of the first and the last minute of the window. */
    const firstMinute: number[] = [];
    const lastMinute: number[] = [];
    // The relay's own view of the same parts (cut -> Worker acknowledged the upload), from the stream's health
    // every 2 s: the rest of cut -> advertised is the Worker waking the blocked request and the response trip.
    const uploads: { p50: number; p99: number }[] = [];
    let stalls = 0;
    let stallMs = 0;
    for (let t = 0; t < SAMPLE_S * 4; t++) {
      await page.waitForTimeout(250);
      if (t % 8 === 0) {
        const res = await fetch(`${stack.workerUrl}/v1/streams/${stream.id}/health`, {
          headers: { authorization: 'Bearer bench-api' },
        });
        const health = (await res.json()) as {
          relay: { report: { uploadLatencyMs?: { p50: number; p99: number } } } | null;
        };
        const u = health.relay?.report.uploadLatencyMs;
        if (u) uploads.push(u);
      }
      const s = await page.evaluate(() => {
        const p = (
          window as unknown as {
            __player: { stats: { latency: number | null; stalls: number; stallMs: number } };
          }
        ).__player;
        return { latency: p.stats.latency, stalls: p.stats.stalls, stallMs: p.stats.stallMs };
      });
      if (s.latency !== null) {
        latencies.push(s.latency);
        if (t < 240) firstMinute.push(s.latency);
        if (t >= SAMPLE_S * 4 - 240) lastMinute.push(s.latency);
      }
      stalls = s.stalls;
      stallMs = s.stallMs;
    }
    await viewer;
    const g2g = summary(latencies);
    const adv = summary(advertised);
    return {
      partTarget,
      glassToGlassS: {
        n: g2g.n,
        p50: round(g2g.p50, 3),
        p90: round(g2g.p90, 3),
        max: round(g2g.max ?? Number.NaN, 3),
      },
      playerStalls: stalls,
      playerStallSeconds: round(stallMs / 1000, 2),
      ...(SAMPLE_S >= 120 ? creep(summary(firstMinute).p50, summary(lastMinute).p50) : {}),
      relayCutToUploadAckedMs: {
        p50OfReports: round(median(uploads.map((u) => u.p50))),
        p99OfReports: round(median(uploads.map((u) => u.p99))),
      },
      cutToAdvertisedMs: {
        n: adv.n,
        p50: round(adv.p50),
        p99: round(adv.p99),
        max: round(adv.max ?? Number.NaN),
      },
    };
  } finally {
    await browser.close();
    encoder.kill('SIGKILL');
  }
}

/** The first and the last minute's p50 latency, and how far it moved between them. */
function creep(first: number, last: number) {
  return { firstMinuteP50S: round(first, 3), lastMinuteP50S: round(last, 3), creepS: round(last - first, 3) };
}

try {
  const runs = [];
  for (const partTarget of PART_TARGETS) runs.push(await measure(partTarget));
  const result = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    sampleSeconds: SAMPLE_S,
    encoder: `ffmpeg testsrc2 640x360@30${AUDIO ? ' + AAC' : ', no audio'}, x264 veryfast zerolatency, ${GOP_S} s GOP, RTMP over loopback`,
    runs,
  };
  const name = SOAK ? 'rtmp-latency-soak.json' : AUDIO ? 'rtmp-latency.json' : 'rtmp-latency-video-only.json';
  writeResult(name, result);
} finally {
  await bench.stop();
}
