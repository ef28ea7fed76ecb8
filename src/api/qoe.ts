/**
 * `POST /live/{streamId}/qoe`: player beacons (public, CORS). A batch of numeric events from one viewer
 * session, at most 4 KiB, validated by a strict schema; the stream's object only aggregates the numbers
 * (src/monitoring/qoe.ts). Nothing in a beacon names a URL, key or storage location, so a beacon can only add
 * to the counters of the stream in its path, and only of a stream that has published (else 404). A signed
 * stream's beacons go to `/live/{token}/qoe` and pass the same access check as its media (playback-access.ts):
 * only a holder of a valid token, within its rules, adds to that stream's numbers (README, "what a forged
 * beacon can skew").
 *
 * Accepts `text/plain` as well as `application/json`: `navigator.sendBeacon` with a JSON string sends
 * text/plain, a CORS-safelisted type that needs no preflight (Fetch standard, "CORS-safelisted request-header").
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { beaconClock, dueBeacons, noteBeacon } from '../monitoring/beacons.ts';
import { noteOriginRequest } from '../monitoring/origin.ts';
import { digestQoe, QOE_ERROR_CODES } from '../monitoring/qoe.ts';
import { TokenBuckets } from '../monitoring/rate-limit.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { limitBody } from './middleware/body-limit.ts';
import { fieldErrors } from './middleware/validation.ts';
import { viewerGrant } from './playback-access.ts';
import { callOf, edgeOf, routeOf, sourceOf } from './viewer-calls.ts';

export const QOE_MAX_BYTES = 4 * 1024;

const ms = (max: number) => z.number().finite().min(0).max(max);
const QoeEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('startup'), ms: ms(120_000) }),
  z.strictObject({ type: z.literal('rebuffer'), ms: ms(600_000) }),
  z.strictObject({ type: z.literal('playing'), ms: ms(600_000) }),
  z.strictObject({ type: z.literal('latency'), s: ms(3_600) }),
  z.strictObject({ type: z.literal('error'), code: z.enum(QOE_ERROR_CODES), fatal: z.boolean() }),
  z.strictObject({
    type: z.literal('rendition'),
    bitrate: z.number().int().min(0).max(1_000_000_000),
    height: z.number().int().min(0).max(10_000).optional(),
  }),
]);

export const QoeBatchSchema = z.strictObject({
  session: z.string().regex(/^[A-Za-z0-9_-]{8,40}$/),
  events: z.array(QoeEventSchema).min(1).max(64),
});

/**
 * Per client address and stream: a burst of 20 beacons, then one every 2 s. A player sends one every ~10 s
 * plus one on page hide, so a real viewer never meets the limit; a loop hammering one object does.
 */
const buckets = new TokenBuckets({ burst: 20, perSecond: 0.5, maxKeys: 10_000 });

export const qoe = new Hono<AppEnv>();

/**
 * Origin counters for every viewer request under /live (src/monitoring/origin.ts): media playlists (and
 * which of them block), media objects, and media answered by the Cache API (`cf-cache-status: HIT`, which
 * the Cache API sets on what `match` returns). Counted after the response is made, never delaying it.
 */
qoe.use('/live/:streamId/*', async (c, next) => {
  await next();
  // Counted under the stream the access check resolved (a token's `sub`), never under the URL's token.
  const streamId = c.get('playbackGrant')?.streamId;
  if (!streamId || c.req.method !== 'GET') return;
  const path = c.req.path;
  // Media playlists: /live/{stream}/{rendition}/{eventId|index}.m3u8 (not the multivariant master.m3u8).
  const kind = /^\/live\/[^/]+\/[^/]+\/[^/]+\.m3u8$/.test(path)
    ? new URL(c.req.url).searchParams.has('_HLS_msn')
      ? 'blocking-playlist'
      : 'playlist'
    : /\/(init\.mp4|[0-9.]+\.m4s)$/.test(path)
      ? 'media'
      : null;
  if (!kind) return;
  const hit = kind === 'media' && c.res.headers.get('cf-cache-status') === 'HIT';
  noteOriginRequest(
    streamId,
    kind,
    hit,
    // Through the region's replica, which sums its isolates' batches (src/fanout/batched-forward.ts).
    (id) => {
      const route = routeOf(c, id);
      return { recordOrigin: (counts) => route.stub.recordOrigin(callOf(route), counts) };
    },
    (p) => c.executionCtx.waitUntil(p),
  );
  flushBeacons(c);
});

/** Sends the isolate's summed beacons of every stream whose interval passed, each to its region's replica. */
function flushBeacons(c: Context<AppEnv>): void {
  const due = dueBeacons(beaconClock.now());
  if (!due) return;
  const calls = [...due].map(([id, digest]) => {
    const route = routeOf(c, id);
    return route.stub.recordQoe(callOf(route), digest);
  });
  c.executionCtx.waitUntil(Promise.allSettled(calls));
}

qoe.use(
  '/live/:streamId/qoe',
  cors({ origin: '*', allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['content-type'], maxAge: 86_400 }),
);
qoe.use('/live/:streamId/qoe', limitBody(QOE_MAX_BYTES));

qoe.post('/live/:streamId/qoe', async (c) => {
  const { streamId } = viewerGrant(c);
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && type !== 'text/plain') {
    throw new ApiError(415, 'unsupported-media-type', 'beacons are JSON (application/json or text/plain)');
  }
  const client = c.req.header('cf-connecting-ip') ?? 'local';
  if (!buckets.take(`${client}|${streamId}`, Date.now())) {
    throw new ApiError(429, 'rate-limited', 'too many beacons; send one batch every few seconds');
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError(400, 'malformed-request', 'beacon body is not JSON');
  }
  const parsed = QoeBatchSchema.safeParse(body);
  if (!parsed.success) {
    const errors = fieldErrors(parsed.error).slice(0, 5);
    throw new ApiError(422, 'validation-failed', 'invalid beacon', { errors });
  }
  // Known to the isolate's copy of its replica's view (one replica call per isolate when it holds none), so
  // a beacon costs the stream object nothing: the digest goes up summed with the isolate's others.
  const route = routeOf(c, streamId);
  const edge = edgeOf(route);
  const view = edge.view ?? (await edge.current(sourceOf(route)));
  if (!view?.state.streamId) throw new ApiError(404, 'not-found', 'no such stream');
  noteBeacon(streamId, digestQoe(parsed.data), beaconClock.now());
  flushBeacons(c);
  return c.body(null, 204);
});
