// Failover gap (issue 6): one stream with a primary and a backup ffmpeg publisher (RTMP, 1 s GOP). Ten times,
// the active encoder is SIGKILLed (so the roles alternate) and restarted a few seconds later, so the next kill
// has a standby again. A viewer blocked on the next part (_HLS_msn/_HLS_part) records when each new part
// becomes visible; the gap of a kill is the longest interval between consecutive new parts from 1 s before the
// kill to 6 s after it. Measured at 0.2 s parts (they divide the GOP) and at the 0.333 s default.
// Run: npm run bench -- failover     (writes bench/results/failover.json)
import { type ChildProcess, spawn } from 'node:child_process';
import { Parser } from 'm3u8-parser';
import { testPatternArgs } from '../scripts/peers.ts';
import { round, startBenchStack, summary, writeResult } from './lib.ts';

const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const RESTART_AFTER_MS = 4000;
const CYCLE_MS = 9000;
const bench = await startBenchStack();
const { stack } = bench;

interface Stream {
  id: string;
  config: Record<string, unknown>;
  ingest: { rtmp: string; backup: { rtmp: string } };
  playback: { hls: string };
}
type Role = 'primary' | 'backup';

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${stack.workerUrl}${path}`, {
    ...init,
    headers: { authorization: 'Bearer bench-api', 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function encoder(url: string): ChildProcess {
  const args = testPatternArgs({ url, format: 'flv', seconds: 600, logLevel: 'error' });
  return spawn('ffmpeg', args, { stdio: 'ignore' });
}

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

/** Records the wall clock at which each new part became visible to a viewer blocked on the next part. */
async function blockedViewer(mediaUrl: string, stop: () => boolean, arrivals: number[]) {
  let text = await (await fetch(mediaUrl)).text();
  let last = edge(text).lastUri;
  while (!stop()) {
    const { next } = edge(text);
    const res = await fetch(`${mediaUrl}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`).catch(() => null);
    if (!res?.ok) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    text = await res.text();
    const uri = edge(text).lastUri;
    if (uri && uri !== last) arrivals.push(Date.now());
    last = uri;
  }
}

const encoders: Partial<Record<Role, ChildProcess>> = {};

/** KILLS kills of the active encoder on a fresh stream with this part target; the gap of each. */
async function measure(partTarget: number) {
  const stream = await call<Stream>('/v1/streams', {
    method: 'POST',
    body: JSON.stringify({ name: `failover ${partTarget}`, partTarget, ladder: 'passthrough' }),
  });
  const urls: Record<Role, string> = { primary: stream.ingest.rtmp, backup: stream.ingest.backup.rtmp };
  encoders.primary = encoder(urls.primary);
  encoders.backup = encoder(urls.backup);
  const mediaUrl = stream.playback.hls.replace('master.m3u8', 'source/index.m3u8');
  for (let i = 0; i < 100; i++) {
    const res = await fetch(mediaUrl);
    if (res.ok && (await res.text()).includes('#EXT-X-PART:')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const arrivals: number[] = [];
  let done = false;
  const viewer = blockedViewer(mediaUrl, () => done, arrivals);
  const kills: { at: number; role: Role }[] = [];
  for (let k = 0; k < KILLS; k++) {
    const health = await call<{ inputs: { role: Role; state: string }[] }>(`/v1/streams/${stream.id}/health`);
    const role = health.inputs.find((i) => i.state === 'active')?.role ?? 'primary';
    kills.push({ at: Date.now(), role });
    encoders[role]?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, RESTART_AFTER_MS));
    encoders[role] = encoder(urls[role]);
    await new Promise((r) => setTimeout(r, CYCLE_MS - RESTART_AFTER_MS));
  }
  done = true;
  await viewer;
  for (const e of Object.values(encoders)) e?.kill('SIGKILL');
  const gaps = kills.map(({ at }) => {
    const around = arrivals.filter((t) => t >= at - 1000 && t <= at + 6000);
    let gap = 0;
    for (let i = 1; i < around.length; i++)
      gap = Math.max(gap, (around[i] as number) - (around[i - 1] as number));
    return gap;
  });
  const health = await call<{ switches: unknown[] }>(`/v1/streams/${stream.id}/health`);
  const s = summary(gaps);
  return {
    config: stream.config,
    kills: kills.map((k, i) => ({ role: k.role, gapMs: gaps[i] })),
    failoverGapMs: { n: s.n, p50: round(s.p50), max: round(s.max ?? Number.NaN) },
    switchesRecorded: health.switches.length,
  };
}

try {
  const runs = [];
  // 0.2 s parts divide the 1 s GOP; 0.333 s (the default, 9-frame parts) does not, and the relay plans each GOP
  // so its keyframe still opens a part: the origin can join the standby at any keyframe in both.
  for (const partTarget of [0.2, 0.333]) runs.push(await measure(partTarget));
  const result = {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    encoder: 'ffmpeg testsrc2 640x360@30, x264 veryfast zerolatency, 1 s GOP, RTMP over loopback, SIGKILL',
    runs,
  };
  writeResult('failover.json', result);
} finally {
  for (const e of Object.values(encoders)) e?.kill('SIGKILL');
  await bench.stop();
}
