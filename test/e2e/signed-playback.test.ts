// Signed playback end to end (issue 16): ffmpeg publishes a signed stream over RTMP; hls.js in Chromium (the
// player page with ?token=) and ffmpeg as an HLS reader play it with a minted token, and are refused without
// one; its recording plays (ffmpeg, hls.js, the MP4) only with a recording token; no token appears in the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type CreatedStream,
  createStream,
  dashboardFor,
  decodeHls,
  type Encoder,
  launchChromium,
  playVodInHlsJs,
  publish,
  run,
  stackInfo,
  waitForEndlist,
  waitUntil,
} from '../support/e2e.ts';

interface Minted {
  token: string;
  playback: { hls: string; player: string };
}

interface RecordingToken {
  token: string;
  playback: { hls: string; prefix: string };
}

interface Recording {
  id: string;
  status: 'recording' | 'ready';
  duration: number;
  playback: { hls: string | null };
}

describe('signed playback', () => {
  let stream: CreatedStream;
  let encoder: Encoder;
  let minted: Minted;
  let vodToken = '';

  beforeAll(async () => {
    stream = await createStream({ name: 'e2e signed', playbackPolicy: 'signed', reconnectWindow: 3 });
    const res = await api<Minted>(`/v1/streams/${stream.id}/playback-tokens`, {
      method: 'POST',
      body: JSON.stringify({ expiresIn: 600 }),
    });
    expect(res.status).toBe(201);
    minted = res.body;
    encoder = publish(stream.ingest.rtmp, 'flv', { seconds: 40, size: '320x180', videoBitrate: '300k' });
    await waitUntil(
      'the signed media playlist to hold three segments',
      async () => {
        const r = await fetch(minted.playback.hls.replace('master.m3u8', 'source/index.m3u8'));
        const text = r.ok ? await r.text() : '';
        return (text.match(/#EXTINF:/g) ?? []).length >= 3;
      },
      30_000,
    );
  });

  afterAll(async () => {
    await encoder?.kill();
  });

  it('refuses the stream id and a token-less player, with problem+json', async () => {
    const res = await fetch(stream.playback.hls);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { type: string }).type).toBe(
      'urn:edge-live:problem:playback-token-required',
    );
    const decoded = await decodeHls(stream.playback.hls, 2);
    expect(decoded.code).not.toBe(0);
  });

  it('decodes with ffmpeg through the token URL', async () => {
    const res = await decodeHls(minted.playback.hls);
    expect(res.stderr.trim()).toBe('');
    expect(res.code).toBe(0);
  });

  it('plays in hls.js on the player page with ?token=, and does not play without it', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const statuses: number[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname.startsWith('/live/')) statuses.push(r.status());
      });
      await page.goto(minted.playback.player);
      await waitUntil(
        'signed playback to start',
        () => page.evaluate(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5 || null),
        30_000,
      );
      const t0 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
      await page.waitForTimeout(3000);
      const t1 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
      expect(t1 - t0).toBeGreaterThan(1.5);
      expect(statuses.length).toBeGreaterThan(5);
      expect(statuses.every((s) => s === 200 || s === 204)).toBe(true);

      const refused = await browser.newPage();
      const refusals: number[] = [];
      refused.on('response', (r) => {
        if (new URL(r.url()).pathname.endsWith('master.m3u8')) refusals.push(r.status());
      });
      await refused.goto(stream.playback.player);
      await waitUntil('the refused master playlist', async () => refusals.length > 0 || null, 15_000);
      await refused.waitForTimeout(1500);
      expect(refusals[0]).toBe(401);
      expect(await refused.evaluate(() => document.querySelector('video')?.currentTime ?? 0)).toBe(0);

      // The dashboard links a signed stream's player with a token it mints (the admin key may sign).
      const dashboard = await browser.newPage();
      await dashboardFor(dashboard, stream.id);
      await dashboard.waitForSelector('#detail-player[href*="?token="]', { timeout: 10_000 });
      expect(await dashboard.textContent('#detail-player')).toBe('player (signed)');
      const href = (await dashboard.getAttribute('#detail-player', 'href')) as string;
      const fromDashboard = await browser.newPage();
      await fromDashboard.goto(new URL(href, stackInfo().workerUrl).toString());
      await waitUntil(
        'playback from the dashboard link to start',
        () => fromDashboard.evaluate(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5 || null),
        30_000,
      );
    } finally {
      await browser.close();
    }
  });

  it('plays its recording only with a recording token: ffmpeg, hls.js and the MP4 download', async () => {
    await encoder.kill();
    await waitForEndlist(minted.playback.hls.replace('master.m3u8', 'source/index.m3u8'), 30_000);
    const recording = await waitUntil(
      'the recording ready',
      async () => {
        const list = await api<{ recordings: Recording[] }>(`/v1/streams/${stream.id}/recordings`);
        const r = list.body.recordings[0];
        return r?.status === 'ready' ? r : null;
      },
      20_000,
    );
    // The recording's own URLs name its id: a signed stream's refuse them.
    const plain = await fetch(recording.playback.hls as string);
    expect(plain.status).toBe(401);
    expect(((await plain.json()) as { type: string }).type).toBe(
      'urn:edge-live:problem:playback-token-required',
    );
    // A live token plays no recording.
    const liveToken = await fetch(recording.playback.hls?.replace(recording.id, minted.token) as string);
    expect(liveToken.status).toBe(403);
    await liveToken.body?.cancel();

    const res = await api<RecordingToken>(`/v1/recordings/${recording.id}/playback-tokens`, {
      method: 'POST',
      body: JSON.stringify({ expiresIn: 600 }),
    });
    expect(res.status).toBe(201);
    vodToken = res.body.token;
    const decoded = await run(
      'ffmpeg',
      ['-v', 'error', '-i', res.body.playback.hls, '-f', 'null', '-'],
      60_000,
    );
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(decoded.stderr.trim()).toBe('');

    const browser = await launchChromium();
    try {
      const played = await playVodInHlsJs(browser, res.body.playback.hls);
      expect(played.fatal).toEqual([]);
      expect(played.ended || played.duration - played.currentTime < 0.25, JSON.stringify(played)).toBe(true);
      expect(Math.abs(played.duration - recording.duration)).toBeLessThan(0.5);
    } finally {
      await browser.close();
    }

    const mp4 = await fetch(`${res.body.playback.prefix}download.mp4`);
    expect(mp4.status).toBe(200);
    const bytes = await mp4.arrayBuffer();
    expect(bytes.byteLength).toBe(Number(mp4.headers.get('content-length')));
    expect(bytes.byteLength).toBeGreaterThan(10_000);
  });

  it('keeps the tokens out of every log line', async () => {
    const log = await (await fetch(`${stackInfo().controlUrl}/log`)).text();
    for (const token of [minted.token, vodToken]) {
      const signature = token.split('.')[2] as string;
      expect(signature.length).toBeGreaterThan(20);
      expect(log.split('\n').filter((line) => line.includes(signature))).toEqual([]);
    }
  });
});
