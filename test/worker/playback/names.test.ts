// Issue 11, defect 2: rendition names that are Object.prototype members must answer 404 like any unknown
// name, for playlists, parts and segments alike (they answered 500: a plain-object lookup reached the
// prototype's `constructor`, `__proto__` and `toString`).
import { evictDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  fixtureParts,
  ORIGIN,
  playlistUrl,
  putInit,
  putPart,
  putParts,
  startSession,
  streamStub,
} from '../support/media.ts';

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

describe('prototype member names', () => {
  it('answer 404 as renditions of a live stream', async () => {
    const id = 'names-live';
    await startSession(id, 'se_a');
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 10));
    for (const name of PROTOTYPE_NAMES) {
      for (const url of [
        playlistUrl(id, name),
        playlistUrl(id, name, '?_HLS_msn=1&_HLS_part=0'),
        `${ORIGIN}/live/${id}/${name}/se_a/0.0.m4s`,
        `${ORIGIN}/live/${id}/${name}/se_a/2.1.m4s`,
        `${ORIGIN}/live/${id}/${name}/se_a/0.m4s`,
        `${ORIGIN}/live/${id}/${name}/se_a/init.mp4`,
      ]) {
        const res = await SELF.fetch(url);
        expect(res.status, url).toBe(404);
        await res.body?.cancel();
      }
    }
  });

  it('answer 404 as session ids in media URLs', async () => {
    const id = 'names-session';
    await startSession(id, 'se_a');
    await putInit(id, 'se_a');
    await putParts(id, 'se_a', fixtureParts.slice(0, 3));
    for (const name of PROTOTYPE_NAMES) {
      for (const file of ['0.0.m4s', '0.3.m4s', '0.m4s']) {
        const res = await SELF.fetch(`${ORIGIN}/live/${id}/source/${name}/${file}`);
        expect(res.status, `${name}/${file}`).toBe(404);
        await res.body?.cancel();
      }
    }
  });

  it('are plain names at ingest when the slug pattern allows them', async () => {
    const id = 'names-ingest';
    await startSession(id, 'se_a');
    const init = await putInit(id, 'se_a', 'constructor');
    // `constructor` matches the rendition slug pattern: it is a rendition like any other.
    expect(init.status).toBe(201);
    await init.body?.cancel();
    for (const p of fixtureParts.slice(0, 3)) {
      const res = await putPart(id, 'se_a', p, { rendition: 'constructor' });
      expect(res.status).toBe(201);
      await res.body?.cancel();
    }
    const playlist = await SELF.fetch(playlistUrl(id, 'constructor'));
    expect(playlist.status).toBe(200);
    await playlist.body?.cancel();
    // And after the object reloads its state from storage.
    await evictDurableObject(streamStub(id));
    const again = await SELF.fetch(playlistUrl(id, 'constructor'));
    expect(again.status).toBe(200);
    await again.body?.cancel();
    const health = await streamStub(id).getHealth();
    expect(health.renditions.map((r) => r.id)).toContain('constructor');
  });
});
