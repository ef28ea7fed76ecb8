// The core path, end to end with real peers: ffmpeg publishes RTMP (and RTMPS) to the relay; ffmpeg reads
// the LL-HLS back and decodes it; hls.js in Chromium plays it in low-latency mode using blocking reload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CreatedStream,
  createStream,
  decodeHls,
  type Encoder,
  launchChromium,
  parsePlaylist,
  publish,
  stackInfo,
  waitForEndlist,
  waitUntil,
} from '../support/e2e.ts';

for (const protocol of ['rtmp', 'rtmps'] as const) {
  describe(`${protocol.toUpperCase()} ingest to LL-HLS`, () => {
    let stream: CreatedStream;
    let encoder: Encoder;

    beforeAll(async () => {
      stream = await createStream({ name: `e2e ${protocol}`, reconnectWindow: 3 });
      const url = protocol === 'rtmp' ? stream.ingest.rtmp : stream.ingest.rtmps;
      expect(url, `${protocol} ingest URL`).toBeTruthy();
      encoder = publish(url as string, 'flv', { seconds: 40 });
      // ffmpeg's HLS reader starts three segments from the end: wait until the window holds that many.
      await waitUntil(
        'the media playlist to hold three complete segments and parts',
        async () => {
          const res = await fetch(stream.playback.hls.replace('master.m3u8', 'source/index.m3u8'));
          const text = res.ok ? await res.text() : '';
          return text.includes('#EXT-X-PART:') && (text.match(/#EXTINF:/g) ?? []).length >= 3;
        },
        30_000,
      );
    });

    afterAll(async () => {
      await encoder?.kill();
    });

    it('serves a spec-shaped LL-HLS media playlist that m3u8-parser reads without warnings', async () => {
      const master = await (await fetch(stream.playback.hls)).text();
      const mv = parsePlaylist(master);
      expect(mv.warnings).toEqual([]);
      const variant = mv.manifest.playlists?.[0];
      expect(variant?.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(variant?.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });

      const mediaUrl = new URL(variant?.uri ?? '', stream.playback.hls).toString();
      const text = await (await fetch(mediaUrl)).text();
      const { manifest, warnings } = parsePlaylist(text);
      expect(warnings).toEqual([]);
      expect(text).toMatch(/#EXT-X-SERVER-CONTROL:.*CAN-BLOCK-RELOAD=YES/);
      expect(text).toMatch(/#EXT-X-PART-INF:PART-TARGET=/);
      expect(text.match(/#EXT-X-PRELOAD-HINT:TYPE=PART/g)).toHaveLength(1);
      expect(text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:/);
      expect(text).toMatch(/#EXT-X-MAP:URI=/);
      expect(manifest.partTargetDuration).toBeGreaterThan(0);
      for (const seg of manifest.segments ?? []) {
        for (const part of seg.parts ?? []) {
          expect(part.duration).toBeLessThanOrEqual((manifest.partTargetDuration ?? 0) + 1e-6);
        }
      }
    });

    it('decodes without errors when ffmpeg reads the HLS back', async () => {
      const res = await decodeHls(stream.playback.hls);
      expect(res.stderr.trim()).toBe('');
      expect(res.code).toBe(0);
    });

    it('plays in hls.js (Chromium) in low-latency mode with blocking playlist reload', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const blocking: string[] = [];
        page.on('request', (req) => {
          const url = new URL(req.url());
          if (url.searchParams.has('_HLS_msn')) blocking.push(url.search);
        });
        // The page's strict CSP (src/api/page-headers.ts) must not block anything hls.js needs.
        const cspViolations: string[] = [];
        page.on('console', (msg) => {
          if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
        });
        const pageRes = await page.goto(stream.playback.player);
        expect(pageRes?.headers()['content-security-policy']).toContain("worker-src 'self' blob:");
        const start = await waitUntil(
          'playback to start',
          () => page.evaluate(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5 || null),
          30_000,
        );
        expect(start).toBe(true);
        const t0 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
        await page.waitForTimeout(4000);
        const t1 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
        expect(t1 - t0).toBeGreaterThan(2.5);
        const state = await page.evaluate(() => {
          const p = (
            window as unknown as {
              __player: { stats: { errors: { fatal: boolean }[]; latency: number | null } };
            }
          ).__player;
          return { fatal: p.stats.errors.filter((e) => e.fatal).length, latency: p.stats.latency };
        });
        expect(state.fatal).toBe(0);
        expect(cspViolations).toEqual([]);
        // Static files (hls.js, the player script) are served by the assets layer with public/_headers.
        const script = await fetch(new URL('/vendor/hls.min.js', stream.playback.player));
        expect(script.headers.get('x-content-type-options')).toBe('nosniff');
        await script.body?.cancel();
        expect(state.latency).not.toBeNull();
        expect(state.latency as number).toBeLessThan(5);
        expect(blocking.length).toBeGreaterThan(3);
        expect(blocking.some((q) => q.includes('_HLS_part='))).toBe(true);
      } finally {
        await browser.close();
      }
    });

    it('ends the playlist with EXT-X-ENDLIST after the encoder leaves and the reconnect window passes', async () => {
      await encoder.kill('SIGINT');
      const mediaUrl = stream.playback.hls.replace('master.m3u8', 'source/index.m3u8');
      const text = await waitForEndlist(mediaUrl, 20_000);
      expect(text).not.toContain('#EXT-X-PRELOAD-HINT');
      expect(parsePlaylist(text).warnings).toEqual([]);
      const status = await fetch(`${stackInfo().workerUrl}/v1/streams/${stream.id}`, {
        headers: { authorization: `Bearer ${stackInfo().apiToken}` },
      });
      expect(((await status.json()) as { status: string }).status).toBe('ended');
    });
  });
}
