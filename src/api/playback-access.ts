/**
 * Who may play what, decided before any cache is consulted: a cache hit never skips the policy check. Viewer
 * URLs name a stream by their first path segment (src/contract/playback.ts), which is either the stream id
 * (public streams) or a playback token in its place (src/access/claims.ts). `authorizePlayback` is the one
 * check every live viewer route goes through (`viewerAccess` runs it for all of /live); `authorizeRecording`
 * is its twin for /vod (recordings, downloads, clips), and both verify a token in `verifiedClaims`. They
 * resolve the segment to the stream id that the edge cache keys, coalescing, counters and the stream's objects
 * use, so the token never reaches a cache key and every viewer of a stream shares one cached copy.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type PlaybackClaims, type PlaybackRules, revokedByGeneration } from '../access/claims.ts';
import { edgeKeySet, edgeStreamAccess } from '../access/edge-registry.ts';
import { allowOrigin, checkRules, type ViewerFacts } from '../access/rules.ts';
import { verifyPlaybackToken } from '../access/verify.ts';
import type { Env } from '../env.ts';
import { parseRecordingId } from '../recording/ids.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError, problemResponse } from './errors.ts';

/** Stream ids as the registry makes them (src/registry/ids.ts), and any name tests give a stream object. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface PlaybackGrant {
  /** The stream the request may play: the cache keys' and the objects' name for it. */
  streamId: string;
  /** The token's access rules; null for a public stream's plain URL. */
  rules: PlaybackRules | null;
}

declare module 'hono' {
  interface ContextVariableMap {
    playbackGrant: PlaybackGrant;
  }
}

/** Viewer responses never send the URL (which may carry a token) on as a Referer. */
export const VIEWER_REFERRER_POLICY = 'no-referrer';

export function viewerFacts(request: Request): ViewerFacts {
  const cf = (request as { cf?: { country?: unknown } }).cf;
  return {
    origin: request.headers.get('origin'),
    referer: request.headers.get('referer'),
    ip: request.headers.get('cf-connecting-ip'),
    country: typeof cf?.country === 'string' ? cf.country : null,
  };
}

/** The grant for a viewer request's stream segment, or the refusal's ApiError (401, 403, 404, 400, 414). */
export async function authorizePlayback(
  env: Env,
  request: Request,
  segment: string,
  now: number,
): Promise<PlaybackGrant> {
  if (STREAM_ID.test(segment)) {
    await requirePublic(
      env,
      segment,
      now,
      'no such stream',
      'this stream plays only with a playback token in the URL in place of the stream id',
    );
    return { streamId: segment, rules: null };
  }
  // A JWT has dots; no stream id does. Anything else names nothing.
  if (!segment.includes('.')) throw new ApiError(404, 'not-found', 'no such stream');
  const claims = await verifiedClaims(env, request, segment, now, (sub) =>
    STREAM_ID.test(sub) && !parseRecordingId(sub) ? sub : null,
  );
  return { streamId: claims.sub, rules: claims };
}

/** A plain URL plays only a public stream's media: 404 (`gone`) for none, 401 for a signed one. */
async function requirePublic(
  env: Env,
  streamId: string,
  now: number,
  gone: string,
  signed: string,
): Promise<void> {
  const access = await edgeStreamAccess(env, streamId, now);
  if (access.gone) throw new ApiError(404, 'not-found', gone);
  if (access.policy === 'signed') throw new ApiError(401, 'playback-token-required', signed);
}

export interface RecordingGrant extends PlaybackGrant {
  eventId: string;
}

/**
 * The grant for a /vod request's first segment: a public stream's recording id, or a playback token whose
 * `sub` is the recording id (`POST /v1/recordings/{id}/playback-tokens`), which the stream's revoke-tokens
 * and rules govern as they do its live tokens. A live token (sub: the stream id) plays no recording.
 */
export async function authorizeRecording(
  env: Env,
  request: Request,
  segment: string,
  now: number,
): Promise<RecordingGrant> {
  const plain = parseRecordingId(segment);
  if (plain) {
    await requirePublic(
      env,
      plain.streamId,
      now,
      'no such recording',
      "a signed stream's recording plays only with a recording token in the URL in place of its id",
    );
    return { ...plain, rules: null };
  }
  if (!segment.includes('.')) throw new ApiError(404, 'not-found', 'no such recording');
  const claims = await verifiedClaims(
    env,
    request,
    segment,
    now,
    (sub) => parseRecordingId(sub)?.streamId ?? null,
  );
  const where = parseRecordingId(claims.sub) as { streamId: string; eventId: string };
  return { ...where, rules: claims };
}

/**
 * A token's verified claims: signature and times (verify.ts), a subject naming a stream (`streamOf`), the
 * stream still there, not revoked by generation, and the viewer within its rules.
 */
async function verifiedClaims(
  env: Env,
  request: Request,
  token: string,
  now: number,
  streamOf: (sub: string) => string | null,
): Promise<PlaybackClaims> {
  const { claims } = await verifyPlaybackToken(token, () => edgeKeySet(env, now), now);
  const streamId = streamOf(claims.sub);
  if (!streamId) {
    throw new ApiError(403, 'token-subject-invalid', 'the token names nothing this route plays (sub)');
  }
  const access = await edgeStreamAccess(env, streamId, now);
  if (access.gone) throw new ApiError(404, 'not-found', 'no such stream');
  if (revokedByGeneration(claims, access)) {
    throw new ApiError(
      401,
      'token-revoked',
      "the stream's tokens issued before its last revoke-tokens are refused",
    );
  }
  const rules = checkRules(claims, viewerFacts(request));
  if (!rules.ok) throw new ApiError(403, 'playback-forbidden', rules.detail);
  return claims;
}

/**
 * Middleware for every /live route: the access check first, a refusal as no-store problem+json (nothing of a
 * refused request is cached, here or by a CDN), the grant for the route, and Referrer-Policy on every answer.
 * Preflights pass to CORS (they carry no credentials and answer nothing about a stream).
 */
export function viewerAccess(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return next();
    const segment = c.req.path.split('/')[2] ?? '';
    let grant: PlaybackGrant;
    try {
      grant = await authorizePlayback(c.env, c.req.raw, segment, Date.now());
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return problemResponse(c, err, {
        'cache-control': 'no-store',
        'referrer-policy': VIEWER_REFERRER_POLICY,
        'access-control-allow-origin': '*',
      });
    }
    c.set('playbackGrant', grant);
    c.header('referrer-policy', VIEWER_REFERRER_POLICY);
    await next();
    // The routes' CORS says `*`; a token with allowedOrigins narrows it to the viewer's Origin when allowed
    // (the rules already refused any other). c.res is the copy Hono made to merge the headers set above, so
    // its headers are mutable even when the route answered from the Cache API.
    const allowed = allowOrigin(grant.rules, c.req.header('origin') ?? '');
    if (allowed !== '*') {
      if (allowed) c.res.headers.set('access-control-allow-origin', allowed);
      else c.res.headers.delete('access-control-allow-origin');
      c.res.headers.append('vary', 'Origin');
    }
  };
}

/** The grant `viewerAccess` made for this request. */
export function viewerGrant(c: Context): PlaybackGrant {
  const grant = c.get('playbackGrant');
  if (!grant) throw new ApiError(500, 'internal', 'viewer route without an access check');
  return grant;
}

/** A refused viewer request as problem+json, with the Cache-Control its kind needs (src/hls/cache-policy.ts). */
export function refusal(c: Context, status: 400 | 404 | 503, detail: string, cacheControl: string): Response {
  const type = status === 400 ? 'bad-directive' : status === 404 ? 'not-found' : 'blocking-timeout';
  return problemResponse(c, new ApiError(status, type, detail), { 'cache-control': cacheControl });
}
