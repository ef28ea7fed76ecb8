// Origin counters through the real Worker: viewer requests are tallied in the isolate and reach the stream's
// object in one batched flush (at most every 5 s), with media Cache API hits told apart.
import { SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { FLUSH_MS, originClock } from '../../../src/monitoring/origin.ts';
import {
  bodyText,
  fixtureParts,
  playlistUrl,
  putInit,
  putParts,
  sleep,
  startSession,
  streamStub,
} from '../support/media.ts';

it('counts playlists, blocking playlists, media and cache hits, flushed in a batch', async () => {
  const id = 'st_origin_counts';
  await startSession(id, 'sess_origin');
  await putInit(id, 'sess_origin');
  await putParts(id, 'sess_origin', fixtureParts.slice(0, 3));
  const playlist = await bodyText(await SELF.fetch(playlistUrl(id)));
  const partUri = /#EXT-X-PART:.*URI="([^"]+)"/.exec(playlist)?.[1];
  expect(partUri).toBeTruthy();
  const partUrl = new URL(partUri as string, playlistUrl(id)).toString();
  expect((await SELF.fetch(partUrl)).status).toBe(200);
  await sleep(50);
  const second = await SELF.fetch(partUrl);
  expect(second.status).toBe(200);
  expect(second.headers.get('cf-cache-status')).toBe('HIT');
  await second.arrayBuffer();
  await bodyText(await SELF.fetch(playlistUrl(id, 'source', '?_HLS_msn=0&_HLS_part=0')));
  // Nothing reached the object yet: counts wait for the flush interval (the isolate's clock, stepped).
  expect((await streamStub(id).getHealth()).monitoring?.origin).toMatchObject({ playlists: 0 });
  const real = originClock.now;
  originClock.now = () => real() + FLUSH_MS + 100;
  try {
    await bodyText(await SELF.fetch(playlistUrl(id)));
  } finally {
    originClock.now = real;
  }
  await expect
    .poll(async () => (await streamStub(id).getHealth()).monitoring?.origin, { timeout: 3_000 })
    .toMatchObject({ playlists: 3, blockingPlaylists: 1, media: 2, cacheHits: 1, cacheHitRatio: 0.5 });
});
