/**
 * Viewer routes (URL scheme in src/contract/playback.ts). Every request first passes the access check
 * (playback-access.ts) and is counted as a viewer's (src/edge/viewers.ts); only then do caches answer. The
 * delivery tree, from the viewer up (DESIGN.md, Scale): the colo's edge cache (blocking playlists, media),
 * identical requests coalesced per isolate, the region's replica (src/fanout/), and only through the replicas
 * the stream's object.
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { CURRENT_PLAYLIST_FILE } from '../contract/playback.ts';
import { edgeMultivariant } from '../edge/edge-view.ts';
import {
  matchPlaylist,
  type PlaylistEncoding,
  playlistCacheKey,
  playlistEncoding,
  playlistResponse,
  storePlaylist,
} from '../edge/playlist-cache.ts';
import {
  type CachedRequest,
  notFoundCacheControl,
  playlistCacheControl,
  REFUSAL_CACHE_CONTROL,
} from '../hls/cache-policy.ts';
import { parseDirectives } from '../hls/directives.ts';
import type { MultivariantAnswer } from '../stream/playlist-answers.ts';
import type { AppEnv } from './app-env.ts';
import { refusal as fail, viewerGrant } from './playback-access.ts';
import { mediaRoute } from './playback-media.ts';
import {
  ask,
  dvrPlaylist,
  edgeOf,
  flushEdgeFigures,
  noteCacheLookup,
  noteViewer,
  routeOf,
  type SharedPlaylist,
  sharedPlaylist,
  sourceOf,
} from './viewer-calls.ts';

export const playback = new Hono<AppEnv>();

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** `{eventId}.m3u8` (one event's playlist) or `index.m3u8` (the current event's), src/contract/playback.ts. */
const PLAYLIST_FILE = /^([A-Za-z0-9_-]{1,64})\.m3u8$/;
/** `{eventId}.dvr.m3u8`: the current event's DVR playlist (config dvrWindow > 0). */
const DVR_FILE = /^([A-Za-z0-9_-]{1,64})\.dvr\.m3u8$/;

playback.use(
  '/live/*',
  cors({
    // A token that restricts origins narrows this to the viewer's own (playback-access.ts `viewerAccess`).
    origin: '*',
    allowMethods: ['GET', 'HEAD', 'OPTIONS'],
    exposeHeaders: ['content-length', 'age', 'date'],
  }),
);

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The shared answer's bytes in `encoding` (gzip made once per answer, Apple's LL-HLS authoring guidance). */
async function encoded(shared: SharedPlaylist, encoding: PlaylistEncoding): Promise<Uint8Array> {
  if (encoding === 'identity') return shared.body;
  shared.gzipped ??= gzip(shared.body);
  return shared.gzipped;
}

playback.get('/live/:streamId/master.m3u8', async (c) => {
  const { streamId } = viewerGrant(c);
  const now = Date.now();
  noteViewer(c, streamId, now);
  const route = routeOf(c, streamId);
  const edge = edgeOf(route);
  await edge.current(sourceOf(route));
  const answer = edgeMultivariant(edge) ?? (await ask(route, (call) => route.stub.multivariant(call)));
  return multivariantResponse(c, answer, now);
});

/** The DVR multivariant: the live one, its variants naming the DVR playlists; 404 without a DVR window. */
playback.get('/live/:streamId/dvr.m3u8', async (c) => {
  const { streamId } = viewerGrant(c);
  const now = Date.now();
  noteViewer(c, streamId, now);
  const route = routeOf(c, streamId);
  return multivariantResponse(c, await ask(route, (call) => route.stub.dvrMultivariant(call)), now);
});

async function multivariantResponse(
  c: Context<AppEnv>,
  answer: MultivariantAnswer,
  now: number,
): Promise<Response> {
  if (answer.kind === 'not-found') return fail(c, 404, 'stream is not live', notFoundCacheControl(1));
  const encoding = playlistEncoding(c.req.header('accept-encoding'));
  const shared: SharedPlaylist = {
    answer: { ...answer, ended: false },
    body: new TextEncoder().encode(answer.text),
    gzipped: null,
    stored: new Set(),
    answeredAt: now,
  };
  const cacheControl = playlistCacheControl({
    blocking: false,
    targetDuration: answer.targetDuration,
    ended: false,
  });
  return playlistResponse(await encoded(shared, encoding), encoding, cacheControl);
}

playback.get('/live/:streamId/:rendition/:playlist', async (c) => {
  const { streamId } = viewerGrant(c);
  const { rendition, playlist: fileName } = c.req.param();
  const dvr = DVR_FILE.exec(fileName);
  const file = dvr ?? PLAYLIST_FILE.exec(fileName);
  if (!file?.[1] || !ID_PATTERN.test(rendition))
    return fail(c, 404, 'no such playlist', notFoundCacheControl(1));
  const now = Date.now();
  noteViewer(c, streamId, now);
  // An event's own URL, or the current event's alias (which moves to the next event: cached like a reload).
  const eventId = fileName === CURRENT_PLAYLIST_FILE ? null : file[1];
  const parsed = parseDirectives(new URL(c.req.url).searchParams);
  if (!parsed.ok) return fail(c, 400, parsed.detail, REFUSAL_CACHE_CONTROL);
  const d = parsed.value;
  const request: CachedRequest = d.msn !== undefined ? 'blocking-playlist' : 'playlist';
  const encoding = playlistEncoding(c.req.header('accept-encoding'));
  // Only an event's own blocking answers go to the edge cache: they name a fixed point of one timeline
  // (the alias `index.m3u8` moves to the next event, whose msns start again).
  const origin = new URL(c.req.url).origin;
  const cacheKey =
    request === 'blocking-playlist' && eventId !== null
      ? playlistCacheKey({ origin, streamId, rendition, file: fileName }, d, encoding)
      : null;
  if (cacheKey) {
    const hit = await matchPlaylist(caches.default, cacheKey, now);
    noteCacheLookup(c, streamId, hit !== null, now);
    if (hit) {
      flushEdgeFigures(c, streamId, now);
      return hit;
    }
  }
  const shared =
    dvr && eventId !== null
      ? await dvrPlaylist(c, streamId, rendition, eventId, d)
      : await sharedPlaylist(c, streamId, rendition, eventId, d);
  const { answer } = shared;
  switch (answer.kind) {
    case 'reject':
      return fail(c, 400, answer.detail, REFUSAL_CACHE_CONTROL);
    case 'not-found':
      return fail(
        c,
        404,
        'no such stream or rendition',
        notFoundCacheControl(Math.max(1, answer.targetDuration), request),
      );
    case 'timeout':
      // DESIGN.md: a blocking request that cannot be satisfied within three target durations gets 503.
      // Refusals are never cached: the same URL is a fine request a few parts later.
      return fail(c, 503, 'the requested part did not arrive in time', REFUSAL_CACHE_CONTROL);
    case 'playlist': {
      const cacheControl = playlistCacheControl({
        blocking: request === 'blocking-playlist',
        targetDuration: Math.max(1, answer.targetDuration),
        ended: answer.ended && eventId !== null,
      });
      const body = await encoded(shared, encoding);
      if (cacheKey && !shared.stored.has(encoding)) {
        shared.stored.add(encoding);
        const stored = { body, encoding, cacheControl, generatedAt: shared.answeredAt };
        c.executionCtx.waitUntil(storePlaylist(caches.default, cacheKey, stored));
      }
      return playlistResponse(body, encoding, cacheControl);
    }
  }
});

playback.get('/live/:streamId/:rendition/:sessionId/:file', mediaRoute);
