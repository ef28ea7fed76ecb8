// The web player (public/player.html, hls.js) driven in Chromium by the end-to-end tests: open it on a stream,
// sample the video element's clock, and read what the player itself counted (stalls, errors).
import type { Browser, Page } from 'playwright-core';
import { type CreatedStream, waitUntil } from './e2e.ts';

export interface PlayerView {
  /** Longest wall-clock span (ms) in which currentTime did not advance while the video was not paused. */
  longestStallMs: number;
  /** currentTime advanced over the sampled window (s). */
  advanced: number;
  stalls: number;
  stallMs: number;
  fatal: { type: string; details: string }[];
}

/** Starts sampling `video.currentTime` every 100 ms in the page (replacing any earlier sampler). */
export function startSampling(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as { __samples?: [number, number, boolean][]; __sampler?: number };
    if (w.__sampler) clearInterval(w.__sampler);
    const video = document.querySelector('video') as HTMLVideoElement;
    w.__samples = [];
    w.__sampler = window.setInterval(() => {
      w.__samples?.push([performance.now(), video.currentTime, video.paused]);
    }, 100);
  });
}

export function readSamples(page: Page): Promise<PlayerView> {
  return page.evaluate(() => {
    const w = window as unknown as {
      __samples: [number, number, boolean][];
      __player: {
        stats: {
          stalls: number;
          stallMs: number;
          errors: { type: string; details: string; fatal: boolean }[];
        };
      };
    };
    const samples = w.__samples;
    let longest = 0;
    let lastProgress = samples[0]?.[0] ?? 0;
    for (let i = 1; i < samples.length; i++) {
      const [at, time, paused] = samples[i] as [number, number, boolean];
      const prev = samples[i - 1] as [number, number, boolean];
      if (time !== prev[1] || paused) lastProgress = at;
      longest = Math.max(longest, at - lastProgress);
    }
    const first = samples[0]?.[1] ?? 0;
    const last = samples.at(-1)?.[1] ?? 0;
    const { stats } = w.__player;
    return {
      longestStallMs: Math.round(longest),
      advanced: last - first,
      stalls: stats.stalls,
      stallMs: Math.round(stats.stallMs),
      fatal: stats.errors.filter((e) => e.fatal).map((e) => ({ type: e.type, details: e.details })),
    };
  });
}

export function fatalErrors(page: Page) {
  return page.evaluate(() => {
    const { errors } = (
      window as unknown as {
        __player: { stats: { errors: { type: string; details: string; fatal: boolean }[] } };
      }
    ).__player.stats;
    return errors.filter((e) => e.fatal).map((e) => ({ type: e.type, details: e.details }));
  });
}

export async function openPlayer(browser: Browser, s: CreatedStream): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(s.playback.player);
  await waitUntil(
    'playback to start',
    // Playing, not only positioned: the page seeks to its start while the element is still paused.
    () =>
      page.evaluate(() => {
        const video = document.querySelector('video');
        return (video && !video.paused && video.readyState >= 3 && video.currentTime > 0.5) || null;
      }),
    30_000,
  );
  return page;
}

/** The page's latency controller (`window.__player.control`, public/player/latency-control.js); seconds. */
export interface ControlState {
  baseTarget: number | null;
  target: number | null;
  /** Behind the live edge as hls.js estimates it (playlist edge + its age - currentTime), smoothed. */
  latency: number | null;
  rate: number;
  stallBoost: number;
  jumps: number;
  started: boolean;
  /** Latency minus target at the first frame. */
  startError: number | null;
}

export function readControl(page: Page): Promise<ControlState> {
  return page.evaluate(() => ({
    ...(window as unknown as { __player: { control: ControlState } }).__player.control,
  }));
}

/** One 100 ms sample of the controller and of the element's own playbackRate. */
export interface ControlSample {
  at: number;
  latency: number | null;
  target: number | null;
  playbackRate: number;
  paused: boolean;
}

/** Starts sampling the controller every 100 ms in the page (replacing any earlier control sampler). */
export function startControlSampling(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as {
      __controlSamples?: ControlSample[];
      __controlSampler?: number;
      __player: { control: ControlState; video: HTMLVideoElement };
    };
    if (w.__controlSampler) clearInterval(w.__controlSampler);
    w.__controlSamples = [];
    w.__controlSampler = window.setInterval(() => {
      const { control, video } = w.__player;
      w.__controlSamples?.push({
        at: performance.now(),
        latency: control.latency,
        target: control.target,
        playbackRate: video.playbackRate,
        paused: video.paused,
      });
    }, 100);
  });
}

export function readControlSamples(page: Page): Promise<ControlSample[]> {
  return page.evaluate(() => (window as unknown as { __controlSamples: ControlSample[] }).__controlSamples);
}

/** Chromium's network emulation on the page (CDP Network.emulateNetworkConditions): a throttle and its lift. */
export async function networkThrottle(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const set = (bytesPerSecond: number) =>
    cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: bytesPerSecond,
      uploadThroughput: bytesPerSecond,
    });
  return {
    limit: (bytesPerSecond: number) => set(bytesPerSecond),
    /** -1: no throttling. */
    lift: () => set(-1),
  };
}
