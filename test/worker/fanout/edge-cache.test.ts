// The edge cache through the real Worker (issue 13): blocking playlist answers keyed by their directives
// alone, per encoding, with Cache-Control, Age and Vary for a CDN in front; media keyed without the query; the
// preload-hinted part fetched once per isolate however many viewers wait for it, then served from the cache.
import { SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { partFlights } from '../../../src/api/playback-media.ts';
import { onlyReplica } from '../support/fanout.ts';
import {
  bodyText,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  putInit,
  putPart,
  putParts,
  startSession,
} from '../support/media.ts';

async function live(id: string, parts: number) {
  const started = await startSession(id, 'se_a', { partTarget: 0.2, segmentTarget: 1, reconnectWindow: 10 });
  await putInit(id, 'se_a');
  await putParts(id, 'se_a', fixtureParts.slice(0, parts));
  return `${ORIGIN}/live/${id}/source/${started.eventId}.m3u8`;
}

/** A gzip response's text (the test's fetch may already have decoded it, as a browser does). */
async function gunzip(res: Response): Promise<string> {
  expect(res.headers.get('content-encoding')).toBe('gzip');
  const raw = new Uint8Array(await res.arrayBuffer());
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return new TextDecoder().decode(raw);
  return new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
}

describe('edge cache', () => {
  it('keeps a blocking answer under its directives alone, per encoding, with Age and Vary', async () => {
    const url = await live('edge-blk', 4);
    const replica = await (async () => {
      const first = await SELF.fetch(`${url}?_HLS_msn=0&_HLS_part=2&junk=1`);
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('public, max-age=6'); // 6 target durations (App. B.1)
      expect(first.headers.get('vary')).toBe('accept-encoding');
      expect(first.headers.get('age')).toBeNull();
      await first.arrayBuffer();
      return onlyReplica('edge-blk');
    })();
    const calls = (await replica.stats()).viewCalls;
    await new Promise((r) => setTimeout(r, 50)); // the put runs in waitUntil
    // Other junk, other order: the same key. Served by the cache, not the replica.
    const hit = await SELF.fetch(`${url}?utm=x&_HLS_part=2&_HLS_msn=0`);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('cache-control')).toBe('public, max-age=6');
    expect(hit.headers.get('vary')).toBe('accept-encoding');
    expect(hit.headers.get('age')).toMatch(/^[0-9]+$/);
    expect(hit.headers.get('access-control-allow-origin')).toBe('*');
    const identity = await bodyText(hit);
    parsePlaylist(identity);
    expect((await replica.stats()).viewCalls).toBe(calls);

    // gzip is another entry: the first gzip request is answered by the isolate, the next is a gzip hit.
    const gz = { headers: { 'accept-encoding': 'gzip' } };
    expect(await gunzip(await SELF.fetch(`${url}?_HLS_msn=0&_HLS_part=2`, gz))).toBe(identity);
    await new Promise((r) => setTimeout(r, 50));
    const beforeHit = (await replica.stats()).viewCalls;
    const gzHit = await SELF.fetch(`${url}?_HLS_msn=0&_HLS_part=2&x=9`, gz);
    expect(gzHit.headers.get('content-encoding')).toBe('gzip');
    expect(gzHit.headers.get('age')).toMatch(/^[0-9]+$/);
    expect(await gunzip(gzHit)).toBe(identity);
    expect((await replica.stats()).viewCalls).toBe(beforeHit);
    expect((await replica.stats()).playlistCalls).toBe(0);

    // Another directive is another answer; a plain reload is not put in the cache (half a target duration).
    const reload = await SELF.fetch(url);
    expect(reload.headers.get('cache-control')).toBe('public, max-age=0');
    expect(reload.headers.get('age')).toBeNull();
    await reload.arrayBuffer();
  });

  it('keys media by path alone: a junk query is a hit', async () => {
    const url = await live('edge-media', 3);
    const partUrl = new URL('se_a/0.1.m4s', url).toString();
    const first = await SELF.fetch(`${partUrl}?x=1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const bytes = new Uint8Array(await first.arrayBuffer());
    await new Promise((r) => setTimeout(r, 50));
    const second = await SELF.fetch(`${partUrl}?x=2`);
    expect(second.headers.get('cf-cache-status')).toBe('HIT');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes);
  });

  it('coalesces requests for the preload-hinted part into one fetch and one wait, and caches the part', async () => {
    const url = await live('edge-hint', 2);
    const playlist = parsePlaylist(await bodyText(await SELF.fetch(url)));
    const hint = playlist.preloadSegment?.preloadHints?.[0]?.uri;
    expect(hint).toBe('se_a/0.2.m4s');
    const hintUrl = new URL(hint as string, url).toString();
    const replica = await onlyReplica('edge-hint');
    const stats = await replica.stats();
    const before = { flights: partFlights.calls, views: stats.viewCalls, readies: stats.partReadyCalls };
    const viewers = Array.from({ length: 40 }, (_, i) => SELF.fetch(`${hintUrl}?v=${i % 3}`));
    await vi.waitFor(async () => expect((await replica.stats()).waiters).toBe(1), { interval: 10 });
    expect((await putPart('edge-hint', 'se_a', fixtureParts[2]!)).status).toBe(201);
    const responses = await Promise.all(viewers);
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const bodies = await Promise.all(responses.map(async (r) => new Uint8Array(await r.arrayBuffer())));
    expect(bodies.every((b) => b.byteLength === fixtureParts[2]!.bytes.byteLength)).toBe(true);
    // One R2 fetch for all 40, waiting on the isolate's one long poll (no hint call of its own).
    expect(partFlights.calls - before.flights).toBe(1);
    const after = await replica.stats();
    expect(after.viewCalls - before.views).toBeLessThanOrEqual(2);
    expect(after.partReadyCalls - before.readies).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    const later = await SELF.fetch(hintUrl);
    expect(later.headers.get('cf-cache-status')).toBe('HIT');
    await later.arrayBuffer();
  });
});
