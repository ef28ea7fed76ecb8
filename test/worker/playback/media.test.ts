import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { partKey } from '../../../src/media/keys.ts';
import {
  bodyText,
  FIXTURE_CODECS,
  fixtureInit,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  putInit,
  putPart,
  putParts,
  sleep,
  startSession,
} from '../support/media.ts';

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

describe('viewer media routes', () => {
  it('serves the multivariant playlist with measured bandwidth and the init segment codecs', async () => {
    const { eventId } = await startSession('med-master', 'se_a');
    await putInit('med-master', 'se_a');
    await putParts('med-master', 'se_a', fixtureParts.slice(0, 10));
    const res = await SELF.fetch(`${ORIGIN}/live/med-master/master.m3u8`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const m = parsePlaylist(await bodyText(res));
    expect(m.playlists).toHaveLength(1);
    const variant = m.playlists?.[0];
    // The current event's media playlist (src/contract/playback.ts).
    expect(variant?.uri).toBe(`source/${eventId}.m3u8`);
    expect(variant?.attributes.CODECS).toBe(FIXTURE_CODECS);
    expect(variant?.attributes.RESOLUTION).toEqual({ width: 320, height: 180 });
    expect(variant?.attributes['FRAME-RATE']).toBe(25);
    expect(variant?.attributes.BANDWIDTH).toBeGreaterThan(100_000);
  });

  it('serves init, parts and whole segments byte for byte, immutable and cross-origin', async () => {
    await startSession('med-bytes', 'se_a');
    await putInit('med-bytes', 'se_a');
    await putParts('med-bytes', 'se_a', fixtureParts.slice(0, 7));
    const init = await SELF.fetch(`${ORIGIN}/live/med-bytes/source/se_a/init.mp4`);
    expect(init.headers.get('content-type')).toBe('video/mp4');
    expect(init.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(init.headers.get('access-control-allow-origin')).toBe('*');
    expect(await bytes(init)).toEqual(fixtureInit);
    const part = await SELF.fetch(`${ORIGIN}/live/med-bytes/source/se_a/1.1.m4s`);
    expect(await bytes(part)).toEqual(fixtureParts[6]?.bytes);
    const segment = await SELF.fetch(`${ORIGIN}/live/med-bytes/source/se_a/0.m4s`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('content-length')).toBe(
      String(fixtureParts.slice(0, 5).reduce((n, p) => n + p.bytes.byteLength, 0)),
    );
    expect(await bytes(segment)).toEqual(concat(fixtureParts.slice(0, 5).map((p) => p.bytes)));
    // A second read comes from the edge cache and is the same.
    const again = await SELF.fetch(`${ORIGIN}/live/med-bytes/source/se_a/0.m4s`);
    expect(await bytes(again)).toEqual(concat(fixtureParts.slice(0, 5).map((p) => p.bytes)));
    // An open segment, another session's key, and unknown names are 404.
    for (const path of ['se_a/1.m4s', 'se_b/0.m4s', 'se_a/0.0.mp4', 'se_b/init.mp4']) {
      const res = await SELF.fetch(`${ORIGIN}/live/med-bytes/source/${path}`);
      expect(res.status, path).toBe(404);
      await res.body?.cancel();
    }
  });

  it('holds a preload-hint part request until the part lands, then serves it', async () => {
    await startSession('med-hint', 'se_a');
    await putInit('med-hint', 'se_a');
    await putParts('med-hint', 'se_a', fixtureParts.slice(0, 3));
    const playlist = parsePlaylist(
      await bodyText(await SELF.fetch(`${ORIGIN}/live/med-hint/source/index.m3u8`)),
    );
    const hint = playlist.preloadSegment?.preloadHints?.[0]?.uri;
    expect(hint).toBe('se_a/0.3.m4s');
    let settled = false;
    const held = SELF.fetch(`${ORIGIN}/live/med-hint/source/${hint}`).then((r) => {
      settled = true;
      return r;
    });
    await sleep(150);
    expect(settled).toBe(false);
    await putPart('med-hint', 'se_a', fixtureParts[3]!);
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await bytes(res)).toEqual(fixtureParts[3]?.bytes);
    // A part far beyond the hint is not held: 404 at once.
    const far = await SELF.fetch(`${ORIGIN}/live/med-hint/source/se_a/3.0.m4s`);
    expect(far.status).toBe(404);
    await far.body?.cancel();
  });

  it('keys the media cache by path alone: junk query parameters are served from the cache', async () => {
    await startSession('med-key', 'se_a');
    await putInit('med-key', 'se_a');
    await putParts('med-key', 'se_a', fixtureParts.slice(0, 2));
    const url = `${ORIGIN}/live/med-key/source/se_a/0.1.m4s`;
    const first = await SELF.fetch(`${url}?x=1`);
    expect(await bytes(first)).toEqual(fixtureParts[1]?.bytes);
    // With the object gone from R2, only the edge cache can still answer, whatever the query says.
    await env.MEDIA.delete(partKey('med-key', 'se_a', 'source', 0, 1));
    for (const query of ['', '?x=2', '?_=cachebust&token=abc']) {
      const res = await SELF.fetch(`${url}${query}`);
      expect(res.status, query).toBe(200);
      expect(await bytes(res)).toEqual(fixtureParts[1]?.bytes);
    }
  });
});
