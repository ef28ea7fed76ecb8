// The DVR player's rewind and "live" button, in rounds, on the whole local stack (wrangler dev + relay): how often
// a viewer who goes back to live stalls there (issue 15, item 3; test/e2e/dvr.test.ts checks one round).
// Each round, on our player page (`?dvr`, hls.js in Debian Chromium): the seek bar goes 60 s back; once playback
// runs there, 3 s of it; then "live". A round stalls when, in the 3 s after the player is back at the live edge
// (following, playing, less than 5 s behind), less than 2.4 s of media plays (the e2e test's bound: the latency
// controller's slowest rate is 0.95). On a stall the bench records hls.js's own view for the next 6 s: its
// stream controller's state, next load position, previous fragment, and each listed part's `loaded` flag, which
// is what hls.js reads to choose the next part. Source: ffmpeg's live test pattern over RTMP, 320x180.
//   npm run bench -- dvr-live          (BENCH_ROUNDS, default 10; BENCH_DEBUG=1 keeps hls.js's debug log)
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, testPatternArgs } from '../scripts/peers.ts';
import { BENCH_API_TOKEN, round, startBenchStack, summary, writeResult } from './lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const DEBUG = process.env.BENCH_DEBUG === '1';
const REWIND_S = 60;
const PLAY_S = 3;

interface View {
  currentTime: number;
  playing: boolean;
  behind: number | null;
  following: boolean;
  buffered: [number, number][];
  hls: {
    state: string;
    loadingParts: boolean;
    nextLoadPosition: number;
    fragPrevious: string | null;
    endSN: number | null;
    /** Listed parts as `sn.index`, with `*` after each one hls.js counts as loaded. */
    parts: string;
  };
}

function view(page: Page): Promise<View> {
  return page.evaluate(() => {
    interface Part {
      fragment: { sn: number };
      index: number;
      loaded: boolean;
    }
    interface StreamController {
      state: string;
      loadingParts: boolean;
      nextLoadPosition: number;
      fragPrevious: { sn: number; start: number; end: number; endDTS?: number } | null;
    }
    const p = (
      window as unknown as {
        __player: {
          video: HTMLVideoElement;
          control: { latency: number | null; following: boolean } | null;
          hls: {
            streamController: StreamController;
            latestLevelDetails: { endSN: number; partList: Part[] | null } | null;
          };
        };
      }
    ).__player;
    const v = p.video;
    const sc = p.hls.streamController;
    const details = p.hls.latestLevelDetails;
    const buffered: [number, number][] = [];
    for (let i = 0; i < v.buffered.length; i++) buffered.push([v.buffered.start(i), v.buffered.end(i)]);
    return {
      currentTime: v.currentTime,
      playing: !v.seeking && !v.paused && v.readyState >= 3,
      behind: p.control?.latency ?? null,
      following: p.control?.following ?? true,
      buffered,
      hls: {
        state: sc.state,
        loadingParts: sc.loadingParts,
        nextLoadPosition: sc.nextLoadPosition,
        fragPrevious: sc.fragPrevious
          ? `${sc.fragPrevious.sn} [${sc.fragPrevious.start}-${sc.fragPrevious.end}] endDTS ${sc.fragPrevious.endDTS}`
          : null,
        endSN: details?.endSN ?? null,
        parts: (details?.partList ?? [])
          .map((x) => `${x.fragment.sn}.${x.index}${x.loaded ? '*' : ''}`)
          .join(' '),
      },
    };
  });
}

async function until<T>(what: string, probe: () => Promise<T | null>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== null) return got;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const bench = await startBenchStack({ relayEnv: { LOG_LEVEL: 'warn' } });
const { stack } = bench;
const res = await fetch(`${stack.workerUrl}/v1/streams`, {
  method: 'POST',
  headers: { authorization: `Bearer ${BENCH_API_TOKEN}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'dvr live', dvrWindow: 300 }),
});
if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
const stream = (await res.json()) as { ingest: { rtmp: string }; playback: { player: string } };
const seconds = REWIND_S + 20 + ROUNDS * 25 + 60;
const encoder = spawn(
  'ffmpeg',
  testPatternArgs({
    url: stream.ingest.rtmp,
    format: 'flv',
    seconds,
    size: '320x180',
    videoBitrate: '300k',
    logLevel: 'error',
  }),
  { stdio: 'ignore' },
);
const browser = await launchChromium();
const log: string[] = [];
try {
  await new Promise((r) => setTimeout(r, (REWIND_S + 15) * 1000));
  const page = await browser.newPage();
  const t0 = Date.now();
  if (DEBUG) page.on('console', (m) => log.push(`${Date.now() - t0} [${m.type()}] ${m.text()}`));
  await page.goto(`${stream.playback.player}?dvr${DEBUG ? '&debug' : ''}`);
  await until(
    'playback at the live edge',
    async () => {
      const s = await view(page);
      return s.currentTime > 1 && s.behind !== null && s.behind < 5 ? s : null;
    },
    30_000,
  );

  const played: number[] = [];
  const toLive: number[] = [];
  const stalls: { round: number; played: number; before: View; samples: (View & { t: number })[] }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const target = await page.evaluate((back) => {
      const video = document.querySelector('video') as HTMLVideoElement;
      const seek = document.getElementById('dvr-seek') as HTMLInputElement;
      const to = Math.max(Number(seek.min), video.currentTime - back);
      seek.value = String(to);
      seek.dispatchEvent(new Event('change'));
      return to;
    }, REWIND_S);
    await until(
      'playback behind the live edge',
      async () => {
        const s = await view(page);
        return s.currentTime > target + 1 && s.playing ? s : null;
      },
      30_000,
    );
    await page.waitForTimeout(PLAY_S * 1000);
    const clicked = Date.now();
    await page.click('#dvr-live');
    const live = await until(
      'back at the live edge',
      async () => {
        const s = await view(page);
        return s.following && s.playing && s.behind !== null && s.behind < 5 ? s : null;
      },
      30_000,
    );
    toLive.push((Date.now() - clicked) / 1000);
    const samples: (View & { t: number })[] = [];
    const from = Date.now();
    while (Date.now() - from < PLAY_S * 1000) {
      await page.waitForTimeout(250);
      samples.push({ t: Date.now() - from, ...(await view(page)) });
    }
    const after = samples[samples.length - 1] as View;
    const gained = after.currentTime - live.currentTime;
    played.push(gained);
    console.log(`round ${r + 1}/${ROUNDS}: ${round(gained, 2)} s played in ${PLAY_S} s at the live edge`);
    if (gained < 2.4) {
      for (let i = 0; i < 24; i++) {
        await page.waitForTimeout(250);
        samples.push({ t: Date.now() - from, ...(await view(page)) });
      }
      stalls.push({ round: r + 1, played: gained, before: live, samples });
    }
  }
  const result = {
    rounds: ROUNDS,
    stalledRounds: stalls.length,
    playedIn3s_s: summary(played),
    clickToLive_s: summary(toLive),
    stalls: stalls.map((s) => ({ round: s.round, played: round(s.played, 2) })),
  };
  writeResult('dvr-live.json', result);
  if (stalls.length) {
    const file = join(bench.dir, '..', `dvr-live-stalls-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(stalls, null, 1));
    console.log(`hls.js's view of each stall: ${file}`);
  }
  if (DEBUG) {
    const file = join(bench.dir, '..', `dvr-live-console-${Date.now()}.log`);
    writeFileSync(file, log.join('\n'));
    console.log(`hls.js debug log: ${file}`);
  }
} finally {
  await browser.close();
  encoder.kill('SIGKILL');
  await bench.stop();
}
