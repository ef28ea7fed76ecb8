// DVR end to end (issue 15, item 3): ffmpeg publishes over RTMP to a stream with a DVR window; the dashboard
// links its DVR player; the player page (hls.js in Chromium, `?dvr`) starts at the live edge, rewinds 60 s with
// its seek bar, plays there, and its "live" button brings it back to the live edge. 60 s is well behind the live
// playlist's 12 segments (24 s): what plays there is listed only in the DVR playlist, in front of the live
// window, from the recording index.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CreatedStream,
  createStream,
  dashboardFor,
  type Encoder,
  launchChromium,
  parsePlaylist,
  publish,
  stackInfo,
  waitUntil,
} from '../support/e2e.ts';

interface DvrStream extends CreatedStream {
  playback: CreatedStream['playback'] & { dvr?: string };
}

interface PlayerState {
  currentTime: number;
  /** Not seeking, with data to play at the playhead (HTMLMediaElement readyState >= 3). */
  playing: boolean;
  behind: number | null;
  following: boolean;
  label: string;
  fatal: string[];
  rate: number;
  stalls: number;
}

/** Seconds the DVR media playlist lists. */
async function dvrSeconds(stream: DvrStream): Promise<number> {
  const master = await (await fetch(stream.playback.dvr as string)).text();
  const uri = parsePlaylist(master).manifest.playlists?.[0]?.uri;
  if (!uri) return 0;
  const media = await (await fetch(new URL(uri, stream.playback.dvr).toString())).text();
  return (parsePlaylist(media).manifest.segments ?? []).reduce((sum, s) => sum + (s.duration ?? 0), 0);
}

function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(() => {
    const p = (
      window as unknown as {
        __player: {
          video: HTMLVideoElement;
          control: { latency: number | null; following: boolean } | null;
          stats: { errors: { fatal: boolean; details: string }[] };
        };
      }
    ).__player;
    return {
      currentTime: p.video.currentTime,
      playing: !p.video.seeking && !p.video.paused && p.video.readyState >= 3,
      behind: p.control?.latency ?? null,
      following: p.control?.following ?? true,
      label: document.getElementById('dvr-behind')?.textContent ?? '',
      fatal: p.stats.errors.filter((e) => e.fatal).map((e) => e.details),
      rate: p.video.playbackRate,
      stalls: (p.stats as unknown as { stalls: number }).stalls,
    };
  });
}

describe('DVR', () => {
  let stream: DvrStream;
  let encoder: Encoder;
  let browser: Browser;

  beforeAll(async () => {
    stream = (await createStream({ name: 'e2e dvr', dvrWindow: 300, reconnectWindow: 3 })) as DvrStream;
    expect(stream.playback.dvr).toBe(stream.playback.hls.replace('master.m3u8', 'dvr.m3u8'));
    encoder = publish(stream.ingest.rtmp, 'flv', { seconds: 120, size: '320x180', videoBitrate: '300k' });
    await waitUntil('70 s in the DVR playlist', async () => (await dvrSeconds(stream)) >= 70, 110_000);
    browser = await launchChromium();
  }, 130_000);

  afterAll(async () => {
    await encoder?.kill();
    await browser?.close();
  });

  it('rewinds 60 s in hls.js on the player page, plays there, and returns to live', async () => {
    // The dashboard links the DVR player of a stream with a DVR window.
    const dashboard = await browser.newPage();
    await dashboardFor(dashboard, stream.id);
    await dashboard.waitForSelector('#detail-dvr[href$="?dvr"]', { timeout: 10_000 });
    const href = (await dashboard.getAttribute('#detail-dvr', 'href')) as string;
    expect(new URL(href, stackInfo().workerUrl).toString()).toBe(`${stream.playback.player}?dvr`);
    await dashboard.close();

    const page = await browser.newPage();
    await page.goto(`${stream.playback.player}?dvr`);
    await waitUntil(
      'playback at the live edge',
      async () => {
        const s = await playerState(page);
        return s.currentTime > 1 && s.behind !== null && s.behind < 5 ? s : null;
      },
      30_000,
    );

    // The seek bar, as a viewer drags it: 60 s back.
    const target = await page.evaluate(() => {
      const video = document.querySelector('video') as HTMLVideoElement;
      const seek = document.getElementById('dvr-seek') as HTMLInputElement;
      const to = video.currentTime - 60;
      if (Number(seek.min) > to) throw new Error(`the seek bar starts at ${seek.min}, after ${to}`);
      seek.value = String(to);
      seek.dispatchEvent(new Event('change'));
      return to;
    });
    const rewound = await waitUntil(
      'playback 60 s behind the live edge',
      async () => {
        const s = await playerState(page);
        return s.currentTime > target + 2 && s.behind !== null ? s : null;
      },
      30_000,
    );
    expect(rewound.following).toBe(false);
    expect(rewound.behind).toBeGreaterThan(55);
    expect(rewound.behind).toBeLessThan(70);
    expect(rewound.label).toMatch(/^-1:0\d$|^-0:5\d$/);
    // It stays there: the latency control does not pull a rewound viewer back to the edge.
    await page.waitForTimeout(3000);
    const still = await playerState(page);
    expect(still.currentTime - rewound.currentTime).toBeGreaterThan(2);
    expect(still.behind).toBeGreaterThan(55);

    await page.click('#dvr-live');
    const live = await waitUntil(
      'playback back at the live edge',
      async () => {
        const s = await playerState(page);
        return s.following && s.playing && s.behind !== null && s.behind < 5 ? s : null;
      },
      30_000,
    );
    expect(live.label).toBe('live');
    const t0 = live.currentTime;
    await page.waitForTimeout(3000);
    const after = await playerState(page);
    // The controller's slowest rate is 0.95: 2.85 s of media in 3 s; a stall would show as less.
    expect(after.currentTime - t0, JSON.stringify({ live, after })).toBeGreaterThan(2.4);
    expect(after.fatal).toEqual([]);
    await page.close();
  });
});
