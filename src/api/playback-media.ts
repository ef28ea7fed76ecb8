/**
 * Media for viewers: init segments, parts and whole segments, from R2 through the edge cache under keys without
 * query (src/media/serve.ts `mediaCacheKey`). A part missing from the cache is fetched once per isolate however
 * many viewers ask (parts are what a whole crowd asks for in the same instant), and when it is not in R2 yet
 * because a preload hint named it (RFC 8216bis 4.4.5.3, 6.2.6: the server holds the request until the part is
 * available), that one fetch waits at the region's replica for it and then puts it in the edge cache once.
 */
import type { Context } from 'hono';
import { Coalescer } from '../edge/coalesce.ts';
import { edgeHint } from '../edge/edge-view.ts';
import { segmentFromView } from '../fanout/replica-reads.ts';
import { GAP_CACHE_CONTROL, notFoundCacheControl } from '../hls/cache-policy.ts';
import { initKey, partKey } from '../media/keys.ts';
import {
  concatenatedResponse,
  MEDIA_HEADERS,
  mediaCacheKey,
  objectResponse,
  throughCache,
} from '../media/serve.ts';
import type { PartRef } from '../stream/reads.ts';
import type { AppEnv } from './app-env.ts';
import { refusal as fail, viewerGrant } from './playback-access.ts';
import { ask, edgeOf, flightKey, noteCacheLookup, noteViewer, routeOf, sourceOf } from './viewer-calls.ts';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const PART_FILE = /^([0-9]{1,9})\.([0-9]{1,9})\.m4s$/;
/** `{msn}.m4s` or `{msn}.{fromPart}-.m4s` (src/contract/playback.ts); `.0-` is not a name (one URI per range). */
const SEGMENT_FILE = /^([0-9]{1,9})(?:\.([1-9][0-9]{0,8})-)?\.m4s$/;
/** Media carries no CORS header of its own: the viewer routes' CORS middleware sets it per grant (playback.ts). */
const NO_EXTRA_HEADERS = {};

type C = Context<AppEnv>;

/** A part's bytes, fetched once per isolate and shared by every request that asked meanwhile. */
interface FetchedPart {
  bytes: Uint8Array;
  etag: string;
}

export const partFlights = new Coalescer<FetchedPart | 'gap' | null>();

export async function mediaRoute(c: C): Promise<Response> {
  const { streamId } = viewerGrant(c);
  const { rendition = '', sessionId = '', file = '' } = c.req.param();
  const notFound = () => fail(c, 404, 'no such media', notFoundCacheControl(1, 'media'));
  const gap = () => fail(c, 404, 'listed as a gap: this rendition has no media here', GAP_CACHE_CONTROL);
  if (!ID_PATTERN.test(sessionId) || !ID_PATTERN.test(rendition)) return notFound();
  const now = Date.now();
  noteViewer(c, streamId, now);
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const cacheKey = mediaCacheKey({ origin: new URL(c.req.url).origin, streamId, rendition, sessionId, file });

  if (file === 'init.mp4') {
    return throughCache(cacheKey, waitUntil, async () => {
      return (
        (await objectResponse(c.env.MEDIA, initKey(streamId, sessionId, rendition), NO_EXTRA_HEADERS)) ??
        notFound()
      );
    });
  }
  const partMatch = PART_FILE.exec(file);
  if (partMatch) {
    const ref = { rendition, sessionId, msn: Number(partMatch[1]), part: Number(partMatch[2]) };
    const answer = await partResponse(c, streamId, ref, cacheKey, now);
    return answer === 'gap' ? gap() : (answer ?? notFound());
  }
  const segmentMatch = SEGMENT_FILE.exec(file);
  if (segmentMatch) {
    const msn = Number(segmentMatch[1]);
    const fromPart = Number(segmentMatch[2] ?? 0);
    return throughCache(cacheKey, waitUntil, async () => {
      const route = routeOf(c, streamId);
      const ref = { rendition, sessionId, msn, part: fromPart };
      const local = segmentFromView(edgeOf(route).view, ref);
      const info =
        local.kind === 'found' ? local.info : await ask(route, (call) => route.stub.segmentInfo(call, ref));
      if (!info) return notFound();
      if ('gap' in info) return gap();
      const keys = info.partSizes.map((_, i) => partKey(streamId, sessionId, rendition, msn, fromPart + i));
      return concatenatedResponse(c.env.MEDIA, keys, info.partSizes, NO_EXTRA_HEADERS);
    });
  }
  return notFound();
}

function partBody(part: FetchedPart): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(MEDIA_HEADERS)) headers.set(name, value);
  headers.set('content-length', String(part.bytes.byteLength));
  headers.set('etag', part.etag);
  return new Response(part.bytes, { headers });
}

async function partResponse(
  c: C,
  streamId: string,
  ref: PartRef,
  key: string,
  now: number,
): Promise<Response | 'gap' | null> {
  const cache = caches.default;
  const hit = await cache.match(new Request(key));
  noteCacheLookup(c, streamId, hit !== undefined, now);
  if (hit) return hit;
  const route = routeOf(c, streamId);
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const fetched = await partFlights.run(
    flightKey(route, [key]),
    async () => {
      const r2Key = partKey(streamId, ref.sessionId, ref.rendition, ref.msn, ref.part);
      let object = await c.env.MEDIA.get(r2Key);
      if (!object) {
        // Not uploaded yet: a preload hint's part. Held until a view publishes it (the isolate's own, else the
        // replica's when the isolate's view cannot tell).
        const edge = edgeOf(route);
        const source = sourceOf(route);
        await edge.fresh(source, now);
        const ready =
          (await edgeHint(edge, source, ref)) ??
          (await ask(route, (call) => route.stub.partReady(call, ref)));
        // A gap part (no R2 object, ever) is answered at once, or as soon as the held part is listed as one.
        if (ready === 'gap') return 'gap';
        if (ready !== 'ready') return null;
        object = await c.env.MEDIA.get(r2Key);
        if (!object) return null;
      }
      const part = { bytes: new Uint8Array(await object.arrayBuffer()), etag: object.httpEtag };
      // Cached once it exists: the one fetch stores it, later requests of the colo are hits.
      waitUntil(cache.put(new Request(key), partBody(part)));
      return part;
    },
    waitUntil,
  );
  return fetched === 'gap' || fetched === null ? fetched : partBody(fetched);
}
