// The ladder as a viewer meets it (issue 12), in one run on the whole local stack (wrangler dev + relay):
//   - glass-to-glass in hls.js (our player page, Debian Chromium) with the level pinned to the source and then
//     to the 360p rung: now minus the program-date-time of the frame on screen, sampled every 250 ms;
//   - switches: the level forced to alternate every BENCH_SWITCH_S seconds; stall time the page counted
//     (video `waiting` to `playing`) per switch.
// Source: a pre-encoded 854x480@30 file with B-frames, published with `-re -stream_loop -1 -c copy` over RTMP,
// so the ladder's ffmpeg is the only live encoder. Run: npm run bench -- ladder-switch
import { spawn } from 'node:child_process';
import { launchChromium } from '../scripts/peers.ts';
import { ladderSource } from '../test/support/ladder-source.ts';
import { round, startBenchStack, summary, writeResult } from './lib.ts';

const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 35);
const SWITCH_S = Number(process.env.BENCH_SWITCH_S ?? 5);
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 8);
const WARMUP_S = 10;

const bench = await startBenchStack({ relayEnv: { LOG_LEVEL: 'warn', LADDER_MIN_IDLE_PERCENT: '0' } });
const { stack } = bench;

interface Stream {
  ingest: { rtmp: string };
  playback: { hls: string; player: string };
}

const res = await fetch(`${stack.workerUrl}/v1/streams`, {
  method: 'POST',
  headers: { authorization: 'Bearer bench-api', 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'ladder switch', ladder: 'standard' }),
});
if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
const stream = (await res.json()) as Stream;
const file = await ladderSource(480);
const seconds = WARMUP_S + 2 * SAMPLE_S + SWITCHES * SWITCH_S + 30;
// biome-ignore format: argument pairs
const encoder = spawn('ffmpeg', [
  '-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file,
  '-t', String(seconds), '-c', 'copy', '-f', 'flv', stream.ingest.rtmp,
], { stdio: 'ignore' });

// A rung is listed once its first part is in (about a part after the source's): open the page after that.
for (let i = 0; i < 150; i++) {
  const res = await fetch(stream.playback.hls);
  if (res.ok && ((await res.text()).match(/#EXT-X-STREAM-INF/g) ?? []).length >= 2) break;
  await new Promise((r) => setTimeout(r, 200));
}
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(stream.playback.player);
  await page.waitForTimeout(WARMUP_S * 1000);
  type Hls = { levels: { height: number }[]; currentLevel: number; nextLevel: number };
  const heights = await page.evaluate(() =>
    ((window as unknown as { __player: { hls: Hls } }).__player.hls.levels ?? []).map((l) => l.height),
  );
  if (heights.length < 2) throw new Error(`expected two levels, got ${JSON.stringify(heights)}`);
  const pin = (height: number) =>
    page.evaluate((h) => {
      const hls = (window as unknown as { __player: { hls: Hls } }).__player.hls;
      hls.currentLevel = hls.levels.findIndex((l) => l.height === h);
    }, height);
  const latencyOver = async (seconds: number) => {
    const out: number[] = [];
    for (let t = 0; t < seconds * 4; t++) {
      await page.waitForTimeout(250);
      const l = await page.evaluate(
        () =>
          (window as unknown as { __player: { stats: { latency: number | null } } }).__player.stats.latency,
      );
      // The first 10 s after a pin are the switch itself and the controller settling: not the rung's latency.
      if (l !== null && t >= 40) out.push(l);
    }
    return summary(out);
  };
  const top = Math.max(...heights);
  const low = Math.min(...heights);
  await pin(top);
  const sourceLatency = await latencyOver(SAMPLE_S);
  await pin(low);
  const rungLatency = await latencyOver(SAMPLE_S);
  const stallMs = () =>
    page.evaluate(
      () =>
        (window as unknown as { __player: { stats: { stallMs: number; stalls: number } } }).__player.stats,
    );
  const before = await stallMs();
  for (let i = 0; i < SWITCHES; i++) {
    await pin(i % 2 === 0 ? top : low);
    await page.waitForTimeout(SWITCH_S * 1000);
  }
  const after = await stallMs();
  const result = {
    levels: heights,
    glassToGlass_s: { source: sourceLatency, [`${low}p`]: rungLatency },
    switches: {
      count: SWITCHES,
      stalls: after.stalls - before.stalls,
      stallMsTotal: round(after.stallMs - before.stallMs, 0),
      stallMsPerSwitch: round((after.stallMs - before.stallMs) / SWITCHES, 0),
    },
  };
  writeResult('ladder-switch.json', result);
} finally {
  await browser.close();
  encoder.kill('SIGKILL');
  await bench.stop();
}
