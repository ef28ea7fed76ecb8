// What the ABR ladder costs (issue 12), in one run:
//   - cost: one 1280x720@30 input with the standard ladder (480p + 360p rungs) through the relay, its CPU plus
//     its ffmpeg's, against one standalone ffmpeg encoding the same ladder (same filters, same x264 settings)
//     from the same file to `-f null`: x264's own cost, the floor. Rounds alternate; medians. Target <= 1.15.
//     Both sides are counted per second of media encoded in the window (the rung's parts that reached the sink;
//     the standalone's frames from `-progress`), so on a busy box a side starved below real time (it encodes
//     fewer frames and so spends fewer cores) does not look cheaper; in real time the two measures agree;
//   - transcode lag: how far each rung's parts arrive after the source's part of the same number, p50/p99, at
//     the sink (bench/relay-rig.ts answers the Worker's ingest contract at once). Target p99 <= one part target;
//   - capacity: N laddered 720p inputs at once (1, 2, 3, ...): a step passes when no rung part is a gap in the
//     window and every rung's lag p99 stays within one part target; the first failing step ends the run.
// Every input replays one pre-encoded file with `-re -stream_loop -1 -c copy`, so the ladder's x264 is the only
// encoder. Run: npm run bench -- ladder     (writes bench/results/ladder.json)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegLadderArgs } from '../ingest-relay/src/ladder/ffmpeg-args.ts';
import { resolveLadder } from '../src/contract/ladder.ts';
import { cpuSeconds, median, percentile, round, writeResult } from './lib.ts';
import { makeBenchInput, type SinkSession, SinkWorker, startRelayProcess, stopChild } from './relay-rig.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 6);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 15);
const MAX_INPUTS = Number(process.env.BENCH_MAX_INPUTS ?? 8);
const PART_TARGET_MS = 333;
/** makeBenchInput's frame rate. */
const SOURCE_FPS = 30;

const dir = mkdtempSync(join(tmpdir(), 'edge-live-ladder-'));
const input = join(dir, 'input.flv');
makeBenchInput(input, 20);
const RUNGS = resolveLadder('standard', { width: 1280, height: 720, frameRate: 30 });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function publisher(url: string): ChildProcess {
  // biome-ignore format: argument pairs
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', input,
    '-c', 'copy', '-f', 'flv', url,
  ], { stdio: 'ignore' });
}

/** The pids of `pid`'s children (Linux /proc). */
function children(pid: number): number[] {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return tasks ? tasks.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** CPU seconds of a process (`own`) and of its children (`children`: the ladder's ffmpeg), over a window. */
async function treeCpuOver(pid: number, windowS: number): Promise<{ own: number; children: number }> {
  const tree = () => [pid, ...children(pid)];
  const before = new Map(tree().map((p) => [p, cpuSeconds(p)]));
  await sleep(windowS * 1000);
  const used = { own: 0, children: 0 };
  for (const p of tree()) {
    const spent = cpuSeconds(p) - (before.get(p) ?? 0);
    if (p === pid) used.own += spent;
    else used.children += spent;
  }
  return used;
}

/** Rung part arrival minus the source part's of the same number, ms, for parts that arrived in the window. */
function lags(
  session: SinkSession,
  since: number,
): Record<string, { p50: number; p99: number; gaps: number }> {
  const source = new Map(session.parts.map((id, i) => [id, session.arrivals[i] as number]));
  const out: Record<string, { p50: number; p99: number; gaps: number }> = {};
  for (const [rung, parts] of session.rungs) {
    const deltas: number[] = [];
    let gaps = 0;
    for (const [id, { at, gap }] of parts) {
      if (at < since) continue;
      if (gap) gaps++;
      const s = source.get(id);
      if (!gap && s !== undefined) deltas.push(at - s);
    }
    deltas.sort((a, b) => a - b);
    out[rung] = { p50: round(percentile(deltas, 50), 0), p99: round(percentile(deltas, 99), 0), gaps };
  }
  return out;
}

async function relayRound(streams: number) {
  const sink = new SinkWorker({ ladder: 'standard' });
  await sink.start();
  // Admission off: the steps find what the box carries, not what the defaults admit.
  const relay = await startRelayProcess(sink.url, {
    env: { LOG_LEVEL: 'warn', LADDER_MIN_IDLE_PERCENT: '0', LADDER_MAX_INPUTS: '1000' },
  });
  const pubs = Array.from({ length: streams }, (_, i) => publisher(`${relay.rtmpUrl}/bench-ladder-${i}`));
  try {
    await sleep(SETTLE_S * 1000);
    const since = Date.now();
    const cpu = await treeCpuOver(relay.pid, WINDOW_S);
    const perStream = sink.sessions.map((s) => lags(s, since));
    return {
      mediaSeconds: rungMediaSeconds(sink.sessions, since, since + WINDOW_S * 1000),
      cpuSeconds: cpu.own + cpu.children,
      cpuCores: (cpu.own + cpu.children) / WINDOW_S,
      relayCores: cpu.own / WINDOW_S,
      ffmpegCores: cpu.children / WINDOW_S,
      perStream,
      sessions: sink.sessions.length,
    };
  } finally {
    for (const p of pubs) await stopChild(p);
    await relay.stop();
    await sink.stop();
  }
}

/** Seconds of media the first rung of each session delivered (non-gap parts arriving in [from, to]). */
function rungMediaSeconds(sessions: SinkSession[], from: number, to: number): number {
  let total = 0;
  for (const s of sessions) {
    const first = [...s.rungs.values()][0];
    for (const p of first?.values() ?? []) if (!p.gap && p.at >= from && p.at <= to) total += p.duration;
  }
  return total;
}

async function standaloneRound(): Promise<{ cores: number; cpuSeconds: number; mediaSeconds: number }> {
  const args = ffmpegLadderArgs(RUNGS).map((a) => (a.startsWith('pipe:') && a !== 'pipe:0' ? '-' : a));
  const i = args.indexOf('pipe:0');
  // The same filter graph and encoder settings, from the file in real time, each rung to the null muxer.
  const fileArgs = [...args.slice(0, i - 3), '-re', '-stream_loop', '-1', '-i', input, ...args.slice(i + 1)];
  const nulls = fileArgs
    .map((a, k) => (a === 'mpegts' && fileArgs[k - 1] === '-f' ? 'null' : a))
    .filter((a, k, all) => a !== '-omit_video_pes_length' && all[k - 1] !== '-omit_video_pes_length');
  // `-progress`: the frames encoded so far (the first output's), every half second.
  const progress = ['-progress', 'pipe:1', '-stats_period', '0.5'];
  const child = spawn('ffmpeg', [...progress, ...nulls], { stdio: ['ignore', 'pipe', 'ignore'] });
  let frames = 0;
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    for (const m of d.matchAll(/^frame=(\d+)$/gm)) frames = Number(m[1]);
  });
  try {
    await sleep(SETTLE_S * 1000);
    const before = frames;
    const cpu = await treeCpuOver(child.pid as number, WINDOW_S);
    const cpuSeconds = cpu.own + cpu.children;
    return { cores: cpuSeconds / WINDOW_S, cpuSeconds, mediaSeconds: (frames - before) / SOURCE_FPS };
  } finally {
    await stopChild(child);
  }
}

const relayCores: number[] = [];
const relayOwnCores: number[] = [];
const relayFfmpegCores: number[] = [];
const standaloneCores: number[] = [];
const lagRuns: Record<string, { p50: number; p99: number; gaps: number }>[] = [];
/** CPU seconds per second of media encoded, each side. */
const relayPerMedia: number[] = [];
const standalonePerMedia: number[] = [];
const mediaPerWindow: { relay: number; standalone: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const one = await relayRound(1);
  relayCores.push(one.cpuCores);
  relayOwnCores.push(one.relayCores);
  relayFfmpegCores.push(one.ffmpegCores);
  if (one.perStream[0]) lagRuns.push(one.perStream[0]);
  const alone = await standaloneRound();
  standaloneCores.push(alone.cores);
  relayPerMedia.push(one.cpuSeconds / one.mediaSeconds);
  standalonePerMedia.push(alone.cpuSeconds / alone.mediaSeconds);
  mediaPerWindow.push({ relay: round(one.mediaSeconds, 1), standalone: round(alone.mediaSeconds, 1) });
  console.log(
    `round ${r + 1}: relay+ffmpeg ${round(one.cpuCores, 2)} cores (${round(one.mediaSeconds, 1)} s of media), ` +
      `standalone ${round(alone.cores, 2)} (${round(alone.mediaSeconds, 1)} s)`,
  );
}

const capacity: { inputs: number; cpuCores: number; worstP99: number; gaps: number; pass: boolean }[] = [];
for (let n = 1; n <= MAX_INPUTS; n++) {
  const step = await relayRound(n);
  const rungs = step.perStream.flatMap((s) => Object.values(s));
  const worstP99 = Math.max(...rungs.map((x) => x.p99));
  const gaps = rungs.reduce((sum, x) => sum + x.gaps, 0);
  const pass = rungs.length === n * RUNGS.length && gaps === 0 && worstP99 <= PART_TARGET_MS;
  capacity.push({ inputs: n, cpuCores: round(step.cpuCores, 2), worstP99, gaps, pass });
  console.log(`capacity ${n}: ${JSON.stringify(capacity.at(-1))}`);
  if (!pass) break;
}

const result = {
  rungs: RUNGS.map((r) => `${r.name} ${r.width}x${r.height} ${r.videoBitrate}`),
  window_s: WINDOW_S,
  cost: {
    relayPlusFfmpegCores: round(median(relayCores), 2),
    ofWhichRelayNode: round(median(relayOwnCores), 3),
    ofWhichLadderFfmpeg: round(median(relayFfmpegCores), 3),
    standaloneFfmpegCores: round(median(standaloneCores), 2),
    /** CPU seconds per second of media encoded in the window: the cost the target is about. */
    relayCpuPerMediaSecond: round(median(relayPerMedia), 3),
    standaloneCpuPerMediaSecond: round(median(standalonePerMedia), 3),
    ratio: round(median(relayPerMedia) / median(standalonePerMedia), 2),
    /** Cores alone (CPU seconds per wall second), which a side starved below real time understates. */
    ratioOfCores: round(median(relayCores) / median(standaloneCores), 2),
    rounds: {
      relay: relayCores.map((c) => round(c, 2)),
      standalone: standaloneCores.map((c) => round(c, 2)),
      relayPerMediaSecond: relayPerMedia.map((c) => round(c, 3)),
      standalonePerMediaSecond: standalonePerMedia.map((c) => round(c, 3)),
      mediaSecondsInWindow: mediaPerWindow,
    },
  },
  lagMs: lagRuns,
  capacity,
  maxInputs: capacity.filter((c) => c.pass).at(-1)?.inputs ?? 0,
};
console.log(JSON.stringify(result, null, 2));
writeResult('ladder.json', result);
rmSync(dir, { recursive: true, force: true });
