// Where a part's time goes between the relay and a viewer blocked on it (issue 14 item 1), p50/p99 per stage,
// for 0.2 s and 0.333 s parts with 1 s and 2 s GOPs, in one run. One machine, so one clock for every stage:
//   partEnd -> cut          the relay's program-date-time + duration of the part (its receive clock: when the
//                           frame after it arrived; its own last frame came one frame, 33 ms, before) to the
//                           segmenter cutting it (the relay's debug log 'part cut')
//   cut -> upload start     the relay's sink queue and its HTTP request reaching the Worker (a recording proxy
//                           between relay and Worker, loopback: about 1 ms of its own)
//   body, r2, commit        inside the Worker (its server-timing header on the part PUT): reading the body,
//                           the R2 put, the stream object recording the part and releasing blocked requests
//   commit -> viewer        the blocked playlist request's answer arriving at a viewer (Node fetch,
//                           _HLS_msn/_HLS_part on the next part): the wake, the playlist, the response
//   partEnd -> viewer       the sum: the advertise lag counted from the relay's clock
// Not in it: the encoder to the relay (encode, ffmpeg's muxing, TCP), and the player's side (part request,
// append, display): bench/rtmp-latency.ts has glass-to-glass in Chromium.
// Run: npm run bench -- latency-breakdown   (BENCH_SAMPLE_S, default 30 s per setting; writes
// bench/results/latency-breakdown.json)
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Parser } from 'm3u8-parser';
import { testPatternArgs } from '../scripts/peers.ts';
import { freePort } from '../scripts/stack.ts';
import { BENCH_API_TOKEN, round, startBenchStack, summary, writeResult } from './lib.ts';

const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 30);
const WARMUP_S = 6;
const SETTINGS = [
  { partTarget: 0.2, gopFrames: 30 },
  { partTarget: 0.2, gopFrames: 60 },
  { partTarget: 0.333, gopFrames: 30 },
  { partTarget: 0.333, gopFrames: 60 },
];

/** What one part went through, keyed `sessionId/msn.part` (source rendition). */
interface PartTimes {
  partEnd?: number;
  cutAt?: number;
  uploadAt?: number;
  ackAt?: number;
  body?: number;
  r2?: number;
  commit?: number;
  viewerAt?: number;
}
const parts = new Map<string, PartTimes>();
const times = (key: string) => {
  const known = parts.get(key);
  if (known) return known;
  const t: PartTimes = {};
  parts.set(key, t);
  return t;
};

const PART_PUT = /\/sessions\/([^/]+)\/renditions\/source\/parts\/(\d+)\/(\d+)$/;

/** Forwards the relay's requests to the Worker, noting when each source part's upload began and was answered. */
async function recordingProxy(workerPort: number) {
  const server = createServer((req, res) => {
    const at = Date.now();
    const m = req.method === 'PUT' ? PART_PUT.exec(req.url ?? '') : null;
    const t = m ? times(`${m[1]}/${m[2]}.${m[3]}`) : undefined;
    if (t) {
      t.uploadAt = at;
      const pdt = Date.parse(String(req.headers['ingest-program-date-time'] ?? ''));
      const duration = Number(req.headers['ingest-duration']);
      if (Number.isFinite(pdt) && duration > 0) t.partEnd = pdt + duration * 1000;
    }
    const upstream = request(
      { host: '127.0.0.1', port: workerPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (t) {
          t.ackAt = Date.now();
          for (const [, name, dur] of String(answer.headers['server-timing'] ?? '').matchAll(
            /(body|r2|commit);dur=(\d+)/g,
          )) {
            t[name as 'body' | 'r2' | 'commit'] = Number(dur);
          }
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const workerPort = await freePort();
const proxy = await recordingProxy(workerPort);
const bench = await startBenchStack({
  port: workerPort,
  relayEnv: { LOG_LEVEL: 'debug', WORKER_URL: proxy.url },
  output: (line, from) => {
    if (from !== 'relay' || !line.includes('"part cut"')) return;
    const rec = JSON.parse(line) as { sessionId: string; msn: number; part: number; cutAt: number };
    times(`${rec.sessionId}/${rec.msn}.${rec.part}`).cutAt = rec.cutAt;
  },
});
const { stack } = bench;

/** The newest part a playlist lists, and the (msn, part) to block on next. */
function edge(text: string) {
  const p = new Parser();
  p.push(text);
  p.end();
  const m = p.manifest;
  const seq = m.mediaSequence ?? 0;
  const open = m.preloadSegment?.parts ?? [];
  const lastUri = open.at(-1)?.uri ?? m.segments.at(-1)?.parts?.at(-1)?.uri;
  return { lastUri, next: { msn: seq + m.segments.length, part: open.length } };
}

/** Always blocked on the next part; notes when each part became visible. */
async function blockedViewer(mediaUrl: string, until: number, seen: string[]) {
  let text = await (await fetch(mediaUrl)).text();
  while (Date.now() < until) {
    const { next } = edge(text);
    const res = await fetch(`${mediaUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    text = await res.text();
    const at = Date.now();
    if (!res.ok) continue;
    const key = edge(text).lastUri?.replace(/\.m4s$/, '');
    if (key && !times(key).viewerAt) {
      times(key).viewerAt = at;
      seen.push(key);
    }
  }
}

function stage(values: number[]) {
  const s = summary(values.filter(Number.isFinite));
  return { n: s.n, p50: round(s.p50), p99: round(s.p99) };
}

async function measure(partTarget: number, gopFrames: number) {
  const res = await fetch(`${stack.workerUrl}/v1/streams`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `breakdown ${partTarget}/${gopFrames}`, partTarget, ladder: 'passthrough' }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  const stream = (await res.json()) as { ingest: { rtmp: string }; playback: { hls: string } };
  const encoder = spawn(
    'ffmpeg',
    testPatternArgs({
      url: stream.ingest.rtmp,
      format: 'flv',
      seconds: WARMUP_S + SAMPLE_S + 10,
      gop: gopFrames,
      videoBitrate: '1000k',
      logLevel: 'error',
    }),
    { stdio: 'ignore' },
  );
  try {
    const mediaUrl = stream.playback.hls.replace('master.m3u8', 'source/index.m3u8');
    for (let i = 0; i < 150; i++) {
      const r = await fetch(mediaUrl);
      if (r.ok && (await r.text()).includes('#EXT-X-PART:')) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    await new Promise((done) => setTimeout(done, WARMUP_S * 1000));
    const seen: string[] = [];
    await blockedViewer(mediaUrl, Date.now() + SAMPLE_S * 1000, seen);
    const done = seen
      .map((k) => times(k))
      .filter((t) => t.partEnd && t.cutAt && t.uploadAt && t.commit !== undefined);
    const committed = (t: PartTimes) => (t.uploadAt ?? 0) + (t.body ?? 0) + (t.r2 ?? 0) + (t.commit ?? 0);
    return {
      partTarget,
      gopSeconds: gopFrames / 30,
      parts: done.length,
      stagesMs: {
        partEndToCut: stage(done.map((t) => (t.cutAt ?? 0) - (t.partEnd ?? 0))),
        cutToUploadStart: stage(done.map((t) => (t.uploadAt ?? 0) - (t.cutAt ?? 0))),
        workerBodyRead: stage(done.map((t) => t.body ?? Number.NaN)),
        workerR2Put: stage(done.map((t) => t.r2 ?? Number.NaN)),
        workerCommit: stage(done.map((t) => t.commit ?? Number.NaN)),
        commitToViewer: stage(done.map((t) => (t.viewerAt ?? 0) - committed(t))),
        uploadRoundTrip: stage(done.map((t) => (t.ackAt ?? 0) - (t.uploadAt ?? 0))),
        partEndToViewer: stage(done.map((t) => (t.viewerAt ?? 0) - (t.partEnd ?? 0))),
      },
    };
  } finally {
    encoder.kill('SIGKILL');
  }
}

try {
  const runs = [];
  for (const s of SETTINGS) runs.push(await measure(s.partTarget, s.gopFrames));
  writeResult('latency-breakdown.json', {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    sampleSeconds: SAMPLE_S,
    encoder: 'ffmpeg testsrc2 640x360@30 + AAC, x264 veryfast zerolatency, RTMP over loopback',
    runs,
  });
} finally {
  await bench.stop();
  proxy.server.close();
}
