/**
 * Media bytes from R2 to viewers: init segments, parts, and whole segments streamed as their parts
 * concatenated byte for byte (a CMAF segment is its chunks in order, ISO/IEC 23000-19 7.3.2). Every key is
 * session-unique, so every response here is immutable and goes through the Cache API.
 */
import { MEDIA_CACHE_CONTROL } from '../hls/cache-policy.ts';

export const MEDIA_HEADERS = {
  'content-type': 'video/mp4',
  'cache-control': MEDIA_CACHE_CONTROL,
} as const;

/** One object as a response, or null when the key does not exist. */
export async function objectResponse(
  bucket: R2Bucket,
  key: string,
  extra: HeadersInit,
): Promise<Response | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  const headers = new Headers(extra);
  for (const [name, value] of Object.entries(MEDIA_HEADERS)) headers.set(name, value);
  headers.set('content-length', String(object.size));
  headers.set('etag', object.httpEtag);
  return new Response(object.body, { headers });
}

/**
 * The objects under `keys`, concatenated in order, streamed one after another (never buffered whole).
 * `sizes` are the byte counts the stream recorded; they give the Content-Length up front, and a part whose
 * stored size differs aborts the stream rather than serving a corrupt segment. A size of 0 is a gap part,
 * which has no object and adds nothing.
 */
export function concatenatedResponse(
  bucket: R2Bucket,
  keys: string[],
  sizes: number[],
  extra: HeadersInit,
): Response {
  const total = sizes.reduce((sum, n) => sum + n, 0);
  const { readable, writable } = new FixedLengthStream(total);
  const pump = async () => {
    const writer = writable.getWriter();
    try {
      for (const [i, key] of keys.entries()) {
        // Size 0: a gap part of a segment with media elsewhere (reads.ts `segmentParts`): nothing stored.
        if (sizes[i] === 0) continue;
        const object = await bucket.get(key);
        if (!object || object.size !== sizes[i]) throw new Error(`part ${key} missing or changed`);
        const reader = object.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.write(value);
        }
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => undefined);
    }
  };
  const headers = new Headers(extra);
  for (const [name, value] of Object.entries(MEDIA_HEADERS)) headers.set(name, value);
  headers.set('content-length', String(total));
  // The pump runs as the viewer reads: backpressure from the response paces the R2 reads.
  void pump();
  return new Response(readable, { headers });
}

/** Where a media object sits in the viewer URL scheme (src/contract/playback.ts), with the stream resolved. */
export interface MediaPlace {
  /** The request's origin (scheme and host). */
  origin: string;
  /** The stream id the access check resolved (src/api/playback-access.ts), never the URL's token. */
  streamId: string;
  rendition: string;
  sessionId: string;
  file: string;
}

/**
 * The cache key of a media object: its canonical path alone. Media paths name immutable bytes, so no query
 * parameter changes the answer (keeping them would let `?x=N` miss the cache and read R2 on every request),
 * and the stream is named by its id, so every playback token of a stream shares one entry.
 */
export function mediaCacheKey(place: MediaPlace): string {
  const path = ['live', place.streamId, place.rendition, place.sessionId, place.file].map(encodeURIComponent);
  return `${place.origin}/${path.join('/')}`;
}

/**
 * Serves `cacheKey` from the edge cache, or builds the response with `make`, stores a copy (when it is a 200)
 * and returns it. `waitUntil` keeps the cache write alive after the response is sent.
 */
export async function throughCache(
  cacheKey: string,
  waitUntil: (p: Promise<unknown>) => void,
  make: () => Promise<Response>,
): Promise<Response> {
  const cache = caches.default;
  const request = new Request(cacheKey, { method: 'GET' });
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await make();
  if (response.status === 200) waitUntil(cache.put(request, response.clone()));
  return response;
}
