/**
 * Who may play what, decided before any cache is consulted (issue 13: a cache hit must not skip a per-stream
 * policy check). Viewer URLs name a stream by a path segment (src/contract/playback.ts); this resolves it to
 * the stream id that the edge cache keys and the stream's objects use. Today every stream is public and the
 * segment is the stream id itself, so the check is its form. Signed playback puts a token in that segment
 * (DESIGN.md, Access): it is verified here, mapped to its stream, and never reaches a cache key.
 */
import type { Context } from 'hono';
import { ApiError, problemResponse } from './errors.ts';

/** Stream ids as the registry makes them (src/registry/ids.ts), and any name tests give a stream object. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface PlaybackGrant {
  /** The stream the request may play: the cache keys' and the objects' name for it. */
  streamId: string;
}

/** The grant for a viewer request's stream segment, or a 404 (an unknown stream and a refused one look alike). */
export function playbackAccess(streamSegment: string): PlaybackGrant {
  if (!STREAM_ID.test(streamSegment)) throw new ApiError(404, 'not-found', 'no such stream');
  return { streamId: streamSegment };
}

/** A refused viewer request as problem+json, with the Cache-Control its kind needs (src/hls/cache-policy.ts). */
export function refusal(c: Context, status: 400 | 404 | 503, detail: string, cacheControl: string): Response {
  const type = status === 400 ? 'bad-directive' : status === 404 ? 'not-found' : 'blocking-timeout';
  return problemResponse(c, new ApiError(status, type, detail), { 'cache-control': cacheControl });
}
