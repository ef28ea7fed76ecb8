/**
 * Viewer routes (URL scheme in src/contract/playback.ts): playlists from the stream's Durable Object, media
 * from R2 through the edge cache. Identical concurrent playlist requests in one isolate share one Durable
 * Object call, so a crowd blocked on the same part costs the object one request (DESIGN.md, Scale).
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { CURRENT_PLAYLIST_FILE } from '../contract/playback.ts';
import {
  type CachedRequest,
  GAP_CACHE_CONTROL,
  notFoundCacheControl,
  playlistCacheControl,
  REFUSAL_CACHE_CONTROL,
} from '../hls/cache-policy.ts';
import { type Directives, parseDirectives } from '../hls/directives.ts';
import { initKey, partKey } from '../media/keys.ts';
import { concatenatedResponse, objectResponse, throughCache } from '../media/serve.ts';
import type { PlaylistAnswer } from '../stream/stream-do.ts';
import type { AppEnv } from './app.ts';
import { ApiError, problemResponse } from './errors.ts';

export const playback = new Hono<AppEnv>();

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const PART_FILE = /^([0-9]{1,9})\.([0-9]{1,9})\.m4s$/;
/** `{eventId}.m3u8` (one event's playlist) or `index.m3u8` (the current event's), src/contract/playback.ts. */
const PLAYLIST_FILE = /^([A-Za-z0-9_-]{1,64})\.m3u8$/;
/** `{msn}.m4s` or `{msn}.{fromPart}-.m4s` (src/contract/playback.ts); `.0-` is not a name (one URI per range). */
const SEGMENT_FILE = /^([0-9]{1,9})(?:\.([1-9][0-9]{0,8})-)?\.m4s$/;

playback.use(
  '/live/*',
  cors({
    origin: '*',
    allowMethods: ['GET', 'HEAD', 'OPTIONS'],
    exposeHeaders: ['content-length', 'age', 'date'],
  }),
);

function stub(c: Context<AppEnv>, streamId: string) {
  if (!ID_PATTERN.test(streamId)) throw new ApiError(404, 'not-found', 'no such stream');
  return c.env.STREAM.get(c.env.STREAM.idFromName(streamId));
}

function fail(c: Context<AppEnv>, status: 400 | 404 | 503, detail: string, cacheControl: string): Response {
  const type = status === 400 ? 'bad-directive' : status === 404 ? 'not-found' : 'blocking-timeout';
  return problemResponse(c, new ApiError(status, type, detail), { 'cache-control': cacheControl });
}

/** A playlist answer shared by every identical request in flight in this isolate. */
interface SharedPlaylist {
  answer: PlaylistAnswer;
  body: Uint8Array;
  gzipped: Promise<Uint8Array> | null;
}

/** In-flight playlist calls, keyed by stream/rendition/directives; an entry lives until its call settles. */
const inflight = new Map<string, Promise<SharedPlaylist>>();

/** How many playlist calls this isolate sent to Durable Objects (tests compare it with viewer requests). */
export const coalescing = { doCalls: 0, requests: 0 };

const encoder = new TextEncoder();

function sharedPlaylist(
  c: Context<AppEnv>,
  streamId: string,
  rendition: string,
  eventId: string | null,
  d: Directives,
) {
  const key = `${streamId}|${rendition}|${eventId ?? ''}|${d.msn ?? ''}|${d.part ?? ''}|${d.skip ?? ''}`;
  coalescing.requests++;
  let entry = inflight.get(key);
  if (!entry) {
    coalescing.doCalls++;
    const call = stub(c, streamId).playlist(rendition, d, {}, eventId);
    entry = call
      .then(
        (answer): SharedPlaylist => ({
          answer,
          body: encoder.encode(answer.kind === 'playlist' ? answer.text : ''),
          gzipped: null,
        }),
      )
      .finally(() => inflight.delete(key));
    inflight.set(key, entry);
    // Other requests await this call: keep it running even if the viewer who started it goes away.
    c.executionCtx.waitUntil(entry.catch(() => undefined));
  }
  return entry;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Apple's LL-HLS authoring guidance: playlists are served gzip-compressed to clients that accept it. */
async function playlistResponse(
  c: Context<AppEnv>,
  shared: SharedPlaylist,
  cacheControl: string,
): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': PLAYLIST_TYPE,
    'cache-control': cacheControl,
    vary: 'accept-encoding',
  };
  if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
    shared.gzipped ??= gzip(shared.body);
    headers['content-encoding'] = 'gzip';
    return new Response(await shared.gzipped, { status: 200, headers, encodeBody: 'manual' });
  }
  return new Response(shared.body, { status: 200, headers });
}

playback.get('/live/:streamId/master.m3u8', async (c) => {
  const answer = await stub(c, c.req.param('streamId')).multivariant();
  if (answer.kind === 'not-found') return fail(c, 404, 'stream is not live', notFoundCacheControl(1));
  const shared: SharedPlaylist = {
    answer: { ...answer, ended: false },
    body: encoder.encode(answer.text),
    gzipped: null,
  };
  return playlistResponse(
    c,
    shared,
    playlistCacheControl({ blocking: false, targetDuration: answer.targetDuration, ended: false }),
  );
});

playback.get('/live/:streamId/:rendition/:playlist', async (c) => {
  const file = PLAYLIST_FILE.exec(c.req.param('playlist'));
  if (!file?.[1]) return fail(c, 404, 'no such playlist', notFoundCacheControl(1));
  // An event's own URL, or the current event's alias (which moves to the next event: cached like a reload).
  const eventId = c.req.param('playlist') === CURRENT_PLAYLIST_FILE ? null : file[1];
  const parsed = parseDirectives(new URL(c.req.url).searchParams);
  const request: CachedRequest =
    parsed.ok && parsed.value.msn !== undefined ? 'blocking-playlist' : 'playlist';
  if (!parsed.ok) return fail(c, 400, parsed.detail, REFUSAL_CACHE_CONTROL);
  const { streamId, rendition } = c.req.param();
  const shared = await sharedPlaylist(c, streamId, rendition, eventId, parsed.value);
  const { answer } = shared;
  const td = Math.max(1, answer.kind === 'reject' ? 1 : answer.targetDuration);
  switch (answer.kind) {
    case 'reject':
      return fail(c, 400, answer.detail, REFUSAL_CACHE_CONTROL);
    case 'not-found':
      return fail(c, 404, 'no such stream or rendition', notFoundCacheControl(td, request));
    case 'timeout':
      // DESIGN.md: a blocking request that cannot be satisfied within three target durations gets 503.
      // Refusals are never cached: the same URL is a fine request a few parts later.
      return fail(c, 503, 'the requested part did not arrive in time', REFUSAL_CACHE_CONTROL);
    case 'playlist':
      return playlistResponse(
        c,
        shared,
        playlistCacheControl({
          blocking: request === 'blocking-playlist',
          targetDuration: td,
          ended: answer.ended && eventId !== null,
        }),
      );
  }
});

playback.get('/live/:streamId/:rendition/:sessionId/:file', async (c) => {
  const { streamId, rendition, sessionId, file } = c.req.param();
  if (!ID_PATTERN.test(sessionId) || !ID_PATTERN.test(rendition)) {
    return fail(c, 404, 'no such media', notFoundCacheControl(1, 'media'));
  }
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const cors = { 'access-control-allow-origin': '*' };
  const notFound = () => fail(c, 404, 'no such media', notFoundCacheControl(1, 'media'));
  const gap = () => fail(c, 404, 'listed as a gap: this rendition has no media here', GAP_CACHE_CONTROL);

  if (file === 'init.mp4') {
    const res = await throughCache(c.req.raw, waitUntil, async () => {
      return (await objectResponse(c.env.MEDIA, initKey(streamId, sessionId, rendition), cors)) ?? notFound();
    });
    return res;
  }

  const partMatch = PART_FILE.exec(file);
  if (partMatch) {
    const msn = Number(partMatch[1]);
    const part = Number(partMatch[2]);
    const key = partKey(streamId, sessionId, rendition, msn, part);
    return throughCache(c.req.raw, waitUntil, async () => {
      const stored = await objectResponse(c.env.MEDIA, key, cors);
      if (stored) return stored;
      // A preload hint (RFC 8216bis 4.4.5.3): the part is not there yet; hold the request until it lands. A gap
      // part (no R2 object, ever) is answered from the object at once, or as soon as the held part lands as one.
      const ready = await stub(c, streamId).partReady(rendition, sessionId, msn, part);
      if (ready === 'gap') return gap();
      if (ready !== 'ready') return notFound();
      return (await objectResponse(c.env.MEDIA, key, cors)) ?? notFound();
    });
  }

  const segmentMatch = SEGMENT_FILE.exec(file);
  if (segmentMatch) {
    const msn = Number(segmentMatch[1]);
    const fromPart = Number(segmentMatch[2] ?? 0);
    return throughCache(c.req.raw, waitUntil, async () => {
      const info = await stub(c, streamId).segmentInfo(rendition, sessionId, msn, fromPart);
      if (!info) return notFound();
      if ('gap' in info) return gap();
      const keys = info.partSizes.map((_, i) => partKey(streamId, sessionId, rendition, msn, fromPart + i));
      return concatenatedResponse(c.env.MEDIA, keys, info.partSizes, cors);
    });
  }
  return notFound();
});
