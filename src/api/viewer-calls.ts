/**
 * The isolate's calls for viewers: to its region's replica (src/fanout/route.ts), coalesced per isolate
 * (src/edge/coalesce.ts), each carrying the isolate's edge figures when a report is due (src/edge/viewers.ts).
 * A viewer request therefore costs the replica at most one call per isolate and distinct request, and the
 * stream object none.
 */
import type { Context } from 'hono';
import { Coalescer } from '../edge/coalesce.ts';
import { type EdgeView, EdgeViews, edgePlaylist, type ViewSource } from '../edge/edge-view.ts';
import type { PlaylistEncoding } from '../edge/playlist-cache.ts';
import { clientHash, EdgeTally } from '../edge/viewers.ts';
import { replicaName } from '../fanout/regions.ts';
import type { Delivered, ReplicaCall } from '../fanout/replica-api.ts';
import { isolateIdentity, noteDelivered, type ReplicaRoute, replicaRoute } from '../fanout/route.ts';
import type { Directives } from '../hls/directives.ts';
import type { PlaylistAnswer } from '../stream/playlist-answers.ts';
import type { AppEnv } from './app-env.ts';

/**
 * Dev mode only: the isolate a request acts as (the load benchmark spreads viewers over many simulated
 * isolates; in production an isolate is itself).
 */
export const ISOLATE_HEADER = 'x-edge-live-isolate';

/** A playlist answer shared by every identical request in flight in this isolate. */
export interface SharedPlaylist {
  answer: PlaylistAnswer;
  body: Uint8Array;
  gzipped: Promise<Uint8Array> | null;
  /** Encodings already put into the edge cache (one put per answer and encoding). */
  stored: Set<PlaylistEncoding>;
  /** Epoch ms the answer came (an edge-cache hit's Age counts from here). */
  answeredAt: number;
}

export const edgeTally = new EdgeTally();
export const playlistFlights = new Coalescer<SharedPlaylist>();
const edgeViews = new EdgeViews();

const encoder = new TextEncoder();

type C = Context<AppEnv>;

/** The isolate identity this request counts under (dev mode may simulate several). */
function isolateOf(c: C): string {
  const simulated = c.env.DEV_MODE === '1' ? c.req.header(ISOLATE_HEADER) : undefined;
  return simulated && /^[A-Za-z0-9_-]{1,64}$/.test(simulated) ? `sim-${simulated}` : isolateIdentity();
}

/** Counts one viewer request (before any cache: every request passes here). */
export function noteViewer(c: C, streamId: string, now: number): void {
  const ip = c.req.header('cf-connecting-ip') ?? 'local';
  edgeTally.request(tallyKey(c, streamId), clientHash(ip, c.req.header('user-agent') ?? ''), now);
}

export function noteCacheLookup(c: C, streamId: string, hit: boolean, now: number): void {
  edgeTally.cacheLookup(tallyKey(c, streamId), hit, now);
}

/** Figures are kept per stream and (simulated) isolate, so each isolate reports its own. */
function tallyKey(c: C, streamId: string): string {
  return tallyKeyOf(isolateOf(c), streamId);
}

function tallyKeyOf(isolate: string, streamId: string): string {
  return `${isolate}|${streamId}`;
}

/** The request's replica. Its call carries no edge report until one is made (`callOf`). */
export function routeOf(c: C, streamId: string): ReplicaRoute {
  return replicaRoute(c.env, c.req.raw, streamId, null, isolateOf(c));
}

/**
 * One call on the route, carrying the isolate's edge report when one is due. The report is taken only for a
 * call that is made: most viewer requests are answered in the isolate (its view, the edge cache, a coalesced
 * flight), and a report taken for one of those was lost, so health counted a fraction of the viewers. Each
 * call takes its own (a route may make several: a reload, then long polls), so none is sent twice.
 */
export function callOf(route: ReplicaRoute, now = Date.now()): ReplicaCall {
  const key = tallyKeyOf(route.isolate, route.call.ref.streamId);
  return { ...route.call, edge: edgeTally.take(key, route.isolate, now) };
}

/** Calls the replica and takes what it says besides the answer (shard count, segment target). */
export async function ask<T>(
  route: ReplicaRoute,
  call: (call: ReplicaCall) => Promise<Delivered<T>>,
): Promise<T> {
  const delivered = await call(callOf(route));
  noteDelivered(route, delivered);
  const key = tallyKeyOf(route.isolate, route.call.ref.streamId);
  edgeTally.segmentTarget(key, delivered.segmentTarget, Date.now());
  return delivered.answer;
}

/** A coalescing key: the same request to the same replica (region and shard) in this isolate. */
export function flightKey(route: ReplicaRoute, parts: readonly unknown[]): string {
  const { region, shard, streamId } = route.call.ref;
  return [streamId, region, shard, route.isolate, ...parts].join('|');
}

/** The isolate's copy of the route's replica view (src/edge/edge-view.ts). */
export function edgeOf(route: ReplicaRoute): EdgeView {
  return edgeViews.of(`${replicaName(route.call.ref)}|${route.isolate}`);
}

/** The route's replica as the edge view's source: one `nextView` call per isolate and part. */
export function sourceOf(route: ReplicaRoute): ViewSource {
  return (after) => ask(route, (call) => route.stub.nextView(call, after));
}

export function sharedPlaylist(
  c: C,
  streamId: string,
  rendition: string,
  eventId: string | null,
  d: Directives,
): Promise<SharedPlaylist> {
  const route = routeOf(c, streamId);
  const key = flightKey(route, [rendition, eventId ?? '', d.msn ?? '', d.part ?? '', d.skip ?? '']);
  return playlistFlights.run(
    key,
    async () => {
      const edge = edgeOf(route);
      const source = sourceOf(route);
      const view = d.msn === undefined ? await edge.current(source) : await edge.fresh(source, Date.now());
      // The current event's playlists are answered here; refusals and other events by the replica.
      const current = view !== null && (eventId === null || eventId === view.state.eventId);
      const answer =
        (current ? await edgePlaylist(edge, source, rendition, d) : null) ??
        (await ask(route, (call) => route.stub.playlist(call, rendition, d, eventId)));
      return sharedAnswer(answer);
    },
    (p) => c.executionCtx.waitUntil(p),
  );
}

/**
 * A DVR playlist, from the region's replica (src/fanout/replica-do.ts: the live view, with the window's front it
 * keeps), coalesced per isolate like a live one; the edge cache keeps its blocking answers (playback.ts).
 */
export function dvrPlaylist(
  c: C,
  streamId: string,
  rendition: string,
  eventId: string,
  d: Directives,
): Promise<SharedPlaylist> {
  const route = routeOf(c, streamId);
  const key = flightKey(route, ['dvr', rendition, eventId, d.msn ?? '', d.part ?? '', d.skip ?? '']);
  return playlistFlights.run(
    key,
    async () => sharedAnswer(await ask(route, (call) => route.stub.dvrPlaylist(call, rendition, d, eventId))),
    (p) => c.executionCtx.waitUntil(p),
  );
}

function sharedAnswer(answer: PlaylistAnswer): SharedPlaylist {
  const body = encoder.encode(answer.kind === 'playlist' ? answer.text : '');
  return { answer, body, gzipped: null, stored: new Set(), answeredAt: Date.now() };
}

/** Sends the isolate's edge figures on their own when no replica call carried them for a while. */
export function flushEdgeFigures(c: C, streamId: string, now: number): void {
  if (!edgeTally.overdue(tallyKey(c, streamId), now)) return;
  const route = routeOf(c, streamId);
  const call = callOf(route, now);
  if (call.edge) c.executionCtx.waitUntil(route.stub.recordEdge(call).catch(() => undefined));
}
