/**
 * Blocking playlist responses in the colo's edge cache (the Cache API), so late tune-ins and slower isolates of
 * the same colo are answered without a replica call. RFC 8216bis Appendix B.1: a blocking response names a
 * fixed point of the stream (the playlist once it holds `_HLS_msn`/`_HLS_part`), so it keeps for six target
 * durations; "_HLS_msn, _HLS_part and _HLS_skip belong in the cache key" (DESIGN.md), and nothing else of the
 * query does, so junk parameters cannot split or bust the cache.
 *
 * Keys name the stream by the id the access check resolved (playback-access.ts), never by the URL's path
 * segment, which will carry a signed token in place of the id: one entry serves every token of a stream.
 * Bodies are kept per encoding (gzip or identity, Apple's authoring guidance: playlists gzip-compressed), the
 * compressed bytes as stored bytes with no Content-Encoding, so no layer re-encodes or decodes them; the
 * response is rebuilt on a hit with `Age` (RFC 9111 5.1: seconds since the origin made it), so a CDN in front
 * keeps it only for what remains of its lifetime.
 */
import type { Directives } from '../hls/directives.ts';

export type PlaylistEncoding = 'gzip' | 'identity';

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
/** Stored beside the body: epoch ms when the origin answered. */
const GENERATED_AT = 'x-edge-live-generated-at';
const ENCODING = 'x-edge-live-encoding';

/** The representation a request gets (Accept-Encoding, RFC 9110 12.5.3; `gzip;q=0` refuses it). */
export function playlistEncoding(acceptEncoding: string | undefined): PlaylistEncoding {
  for (const item of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [coding, ...params] = item.trim().split(';');
    if (coding?.trim() !== 'gzip' && coding?.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return 'gzip';
  }
  return 'identity';
}

export interface PlaylistPlace {
  /** The request's origin (scheme and host). */
  origin: string;
  streamId: string;
  rendition: string;
  /** `{eventId}.m3u8` or `index.m3u8`. */
  file: string;
}

/** The cache key: the canonical path, the directives in one fixed order, and the encoding. */
export function playlistCacheKey(place: PlaylistPlace, d: Directives, encoding: PlaylistEncoding): string {
  const query = new URLSearchParams();
  if (d.msn !== undefined) query.set('_HLS_msn', String(d.msn));
  if (d.part !== undefined) query.set('_HLS_part', String(d.part));
  if (d.skip !== undefined) query.set('_HLS_skip', d.skip);
  query.set('encoding', encoding);
  const path = ['live', place.streamId, place.rendition, place.file].map(encodeURIComponent).join('/');
  return `${place.origin}/${path}?${query}`;
}

/** Response headers of a playlist; `age` in seconds on a cache hit. */
export function playlistHeaders(encoding: PlaylistEncoding, cacheControl: string, age?: number): Headers {
  const headers = new Headers({
    'content-type': PLAYLIST_TYPE,
    'cache-control': cacheControl,
    // RFC 9110 12.5.5: the representation depends on Accept-Encoding, so a shared cache must key on it too.
    vary: 'accept-encoding',
  });
  if (encoding === 'gzip') headers.set('content-encoding', 'gzip');
  if (age !== undefined) headers.set('age', String(age));
  return headers;
}

export function playlistResponse(
  body: Uint8Array,
  encoding: PlaylistEncoding,
  cacheControl: string,
  age?: number,
) {
  // encodeBody 'manual': the body already is the gzip bytes; the runtime must not compress it again.
  return new Response(body, {
    status: 200,
    headers: playlistHeaders(encoding, cacheControl, age),
    encodeBody: encoding === 'gzip' ? 'manual' : 'automatic',
  });
}

/** A hit, rebuilt with its Age; null on a miss. */
export async function matchPlaylist(cache: Cache, key: string, now: number): Promise<Response | null> {
  const stored = await cache.match(new Request(key));
  if (!stored) return null;
  const generatedAt = Number(stored.headers.get(GENERATED_AT));
  const encoding: PlaylistEncoding = stored.headers.get(ENCODING) === 'gzip' ? 'gzip' : 'identity';
  const cacheControl = stored.headers.get('cache-control') ?? 'no-store';
  const age = Number.isFinite(generatedAt) ? Math.max(0, Math.floor((now - generatedAt) / 1000)) : 0;
  return playlistResponse(new Uint8Array(await stored.arrayBuffer()), encoding, cacheControl, age);
}

/** Stores one encoding's bytes; the Cache API keeps it for the `max-age` of `cacheControl`. */
export function storePlaylist(
  cache: Cache,
  key: string,
  stored: { body: Uint8Array; encoding: PlaylistEncoding; cacheControl: string; generatedAt: number },
): Promise<void> {
  const headers = new Headers({
    'content-type': PLAYLIST_TYPE,
    'cache-control': stored.cacheControl,
    [GENERATED_AT]: String(stored.generatedAt),
    [ENCODING]: stored.encoding,
  });
  return cache.put(new Request(key), new Response(stored.body, { headers }));
}
