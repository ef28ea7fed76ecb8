// Where the relay's CPU goes: the relay under `node --cpu-prof`, BENCH_STREAMS passthrough RTMP streams
// (default 4, the 720p30 3 Mb/s file replayed with -c copy) uploading to the sink of relay-rig.ts for
// BENCH_SECONDS (default 20), then the profile's self time summed per function and per file, leaving out its
// first BENCH_SKIP_S seconds (default 5: start-up).
// Run: npm run bench -- relay-profile     (writes bench/results/relay-profile.json; the .cpuprofile stays in
// the temporary folder it prints, for Chrome DevTools). BENCH_LADDER=standard gives every stream the standard
// ladder (the 720p file: 480p + 360p rungs, one ffmpeg each) and writes relay-profile-ladder.json instead.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, round, writeResult } from './lib.ts';
import { makeBenchInput, SinkWorker, startRelayProcess, stopChild } from './relay-rig.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const LADDER = process.env.BENCH_LADDER;
/** Seconds of the profile left out at its start: module loading, type stripping, the publishers connecting. */
const SKIP_S = Number(process.env.BENCH_SKIP_S ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'edge-live-profile-'));
const input = join(dir, 'input.flv');
makeBenchInput(input, 10);

const sink = new SinkWorker(LADDER ? { ladder: LADDER as 'standard' } : {});
await sink.start();
const relay = await startRelayProcess(sink.url, {
  env: { LOG_LEVEL: 'warn' },
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
});
const publishers: ChildProcess[] = Array.from({ length: STREAMS }, (_, i) =>
  spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', input, '-c', 'copy'],
      ...['-f', 'flv', `${relay.rtmpUrl}/bench-${i}`],
    ],
    { stdio: 'ignore' },
  ),
);
await new Promise((r) => setTimeout(r, SECONDS * 1000));
await Promise.all(publishers.map((p) => stopChild(p)));
await relay.stop(); // SIGTERM: the profile is written on a clean exit
await sink.stop();

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
let atUs = 0;
for (const [i, id] of profile.samples.entries()) {
  atUs += profile.timeDeltas[i] ?? 0;
  if (atUs < SKIP_S * 1e6) continue;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs.entries()]
  .filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)?.callFrame.functionName ?? ''))
  .reduce((a, [, us]) => a + us, 0);
const busy = total - idle;

function where(n: ProfileNode): string {
  const url = n.callFrame.url.replace('file://', '');
  const path = url.startsWith(ROOT) ? relative(ROOT, url) : url || '(native)';
  return path.replace(/^node_modules\/(\.pnpm\/)?/, 'node_modules/');
}
const sum = (key: (n: ProfileNode) => string) => {
  const out = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n || ['(idle)', '(program)'].includes(n.callFrame.functionName)) continue;
    out.set(key(n), (out.get(key(n)) ?? 0) + us);
  }
  return [...out.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([name, us]) => ({ name, percentOfBusy: round((us / busy) * 100, 1), ms: round(us / 1000) }));
};
writeResult(LADDER ? 'relay-profile-ladder.json' : 'relay-profile.json', {
  ladder: LADDER ?? 'passthrough',
  at: new Date().toISOString(),
  streams: STREAMS,
  seconds: SECONDS,
  skippedSeconds: SKIP_S,
  /** What the relay did in that time, so runs compare like for like. */
  sessions: sink.sessions.length,
  partsUploaded: sink.sessions.reduce((n, s) => n + s.parts.length, 0),
  profile: join(dir, file),
  busyMs: round(busy / 1000),
  busyPercentOfOneCore: round((busy / total) * 100, 1),
  byFunction: sum(
    (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`,
  ),
  byFile: sum(where),
});
