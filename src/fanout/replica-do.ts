/**
 * One replica of a stream's playlist state per region (and shard): it holds its region's waiting requests and
 * answers them with the stream object's own answering functions (src/stream/playlist-answers.ts, the src/hls
 * renderer), so the stream object serves one push per part per region instead of a call per isolate.
 *
 * - Fed: the stream object pushes a view on every change (`receive`) to each region's shard 0, which passes
 *   it on to the region's other shards (region-shards.ts); the newest version wins (held-view.ts).
 * - Registered: its first viewer makes it catch up (`syncReplica` upstream: the stream object for shard 0,
 *   shard 0 for the others, upstream.ts), which also puts it on that feed; it leaves the feed by answering a
 *   push idle (no viewer for REPLICA_IDLE_MS, and no shard of its own to feed).
 * - Never behind for long: a stale view is refreshed before an answer and while requests wait (held-view.ts).
 * - Never refuses only because it is behind: a 400 or 404 is decided again on a view fetched after the
 *   request arrived (catch-up.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.ts';
import type { Directives } from '../hls/directives.ts';
import { addOriginCounts, type OriginCounts } from '../monitoring/origin.ts';
import { addQoeDigests, type QoeDigest } from '../monitoring/qoe.ts';
import { DvrFronts } from '../recording/dvr-front.ts';
import type { RecordedSegment } from '../recording/index-store.ts';
import {
  decideLive,
  liveFirstMsn,
  type MultivariantAnswer,
  multivariantAnswer,
  type PlaylistAnswer,
  renderDvr,
  renderLive,
} from '../stream/playlist-answers.ts';
import { PlaylistTexts } from '../stream/playlist-texts.ts';
import { hintDecision, type PartRef, partPublished } from '../stream/reads.ts';
import type { PartReadyAnswer } from '../stream/stream-do.ts';
import { BatchedForward } from './batched-forward.ts';
import { EdgeFigures } from './edge-figures.ts';
import type { ReplicaAck } from './feed.ts';
import { HeldView } from './held-view.ts';
import { RateMeter } from './rate.ts';
import { RegionShards } from './region-shards.ts';
import type { ReplicaRef } from './regions.ts';
import type { Delivered, ReplicaCall } from './replica-api.ts';
import { type SegmentParts, segmentFromView } from './replica-reads.ts';
import { DEFAULT_REPLICA_CEILING, recommendShards } from './shards.ts';
import { originUpstream, qoeUpstream, streamObjectOf, syncFromUpstream } from './upstream.ts';
import { type FeedVersion, newerThan, type ReplicaView } from './view.ts';

/** A replica with no viewer request for this long answers pushes idle and leaves the feed. */
export const REPLICA_IDLE_MS = 30_000;
/** Archived playlists kept (they never change; a replica fetches each once). */
const ARCHIVED_KEPT = 32;

export class StreamReplica extends DurableObject<Env> {
  #ref: ReplicaRef | null = null;
  #lastViewerAt = Number.NEGATIVE_INFINITY;
  #shardsInUse = 1;
  #severed = false;
  /** Shard 0 only: the region's other shards it feeds. */
  readonly #shards = new RegionShards(this.env.REPLICA, this.ctx.storage.kv, Date.now());
  readonly #view = new HeldView(
    () => syncFromUpstream(this.env, this.#identity()),
    (view) => this.#shards.forward(view),
  );
  readonly #texts = new PlaylistTexts();
  /** DVR texts apart: one may render a state the live memo has moved past (#dvrPlaylist). */
  readonly #dvrTexts = new PlaylistTexts();
  readonly #fronts = new DvrFronts();
  readonly #archived = new Map<string, PlaylistAnswer>();
  readonly #requests = new RateMeter();
  readonly #edge = new EdgeFigures();
  readonly #origin = new BatchedForward('origin counts', addOriginCounts, (counts: OriginCounts) =>
    originUpstream(this.env, this.#identity(), counts),
  );
  readonly #qoe = new BatchedForward('qoe beacons', addQoeDigests, (digest: QoeDigest) =>
    qoeUpstream(this.env, this.#identity(), digest),
  );
  readonly #counts = { pushes: 0, viewCalls: 0, playlistCalls: 0, partReadyCalls: 0, forwarded: 0 };

  /** A push from upstream (feed.ts); the answer carries the figures of this replica and the shards it feeds. */
  async receive(view: ReplicaView): Promise<ReplicaAck> {
    this.#counts.pushes++;
    // A severed feed (tests only) loses the push on the way, as a dropped connection would.
    if (!this.#severed) await this.#view.receive(view);
    const now = this.#view.clock.now();
    const cache = this.#edge.cache(now);
    return this.#shards.aggregate({
      keep: now - this.#lastViewerAt < REPLICA_IDLE_MS,
      requestsPerSecond: this.#requests.perSecond(now),
      requests: this.#requests.total,
      viewers: this.#edge.viewers(now),
      cacheLookups: cache.lookups,
      cacheHits: cache.hits,
      replicas: 1,
    });
  }

  /**
   * Shard 0 only: another shard of its region catches up (and joins its feed). The view is one fetched from
   * the stream object after the call arrived, so a shard's catch-up is as good as asking the stream object.
   */
  async syncReplica(ref: ReplicaRef): Promise<ReplicaView> {
    const now = this.#view.clock.now();
    this.#ref ??= { ...ref, shard: 0 };
    this.#shards.register(ref, now);
    await this.#view.refresh(now);
    if (!this.#view.view) throw new Error('no view from the stream object yet');
    return this.#view.view;
  }

  /**
   * The view for an isolate's own answering (src/edge/edge-view.ts): now when `after` is null or older than
   * the view held, else once a newer one arrives, or the view as it stands after three target durations.
   * One call per isolate and part, whatever its viewers ask.
   */
  async nextView(call: ReplicaCall, after: FeedVersion | null): Promise<Delivered<ReplicaView | null>> {
    await this.#arrive(call);
    this.#counts.viewCalls++;
    const isNewer = () =>
      after === null || (this.#view.view !== null && newerThan(this.#view.view.version, after));
    if (!isNewer()) await this.#view.hold('*', isNewer);
    return this.#deliver(this.#view.view);
  }

  async playlist(
    call: ReplicaCall,
    rendition: string,
    directives: Directives,
    eventId: string | null,
  ): Promise<Delivered<PlaylistAnswer>> {
    const arrived = await this.#arrive(call);
    this.#counts.playlistCalls++;
    if (eventId !== null && eventId !== this.#view.state.eventId) {
      // Another event: an archived one (fetched once), or a newer one this view has not seen yet.
      if (!this.#view.view?.archivedEventIds.includes(eventId)) await this.#view.refresh(arrived);
      if (eventId !== this.#view.state.eventId) {
        return this.#deliver(await this.#archivedPlaylist(rendition, eventId));
      }
    }
    return this.#deliver(await this.#livePlaylist(rendition, directives, arrived));
  }

  /** The current event's DVR playlist (config dvrWindow > 0), held as the live one is. */
  async dvrPlaylist(
    call: ReplicaCall,
    rendition: string,
    directives: Directives,
    eventId: string,
  ): Promise<Delivered<PlaylistAnswer>> {
    const arrived = await this.#arrive(call);
    this.#counts.playlistCalls++;
    return this.#deliver(await this.#dvrPlaylist(rendition, directives, eventId, arrived));
  }

  /** The DVR multivariant: the live one naming the DVR playlists, when the event has a DVR window. */
  async dvrMultivariant(call: ReplicaCall): Promise<Delivered<MultivariantAnswer>> {
    const arrived = await this.#arrive(call);
    const answer = () =>
      this.#view.state.config?.dvrWindow
        ? multivariantAnswer(this.#view.state, this.#texts, this.#view.view?.multivariantHints, 'dvr')
        : ({ kind: 'not-found' } as const);
    if (answer().kind === 'not-found') await this.#view.refresh(arrived);
    return this.#deliver(answer());
  }

  async multivariant(call: ReplicaCall): Promise<Delivered<MultivariantAnswer>> {
    const arrived = await this.#arrive(call);
    let answer = multivariantAnswer(this.#view.state, this.#texts, this.#view.view?.multivariantHints);
    if (answer.kind === 'not-found') {
      await this.#view.refresh(arrived);
      answer = multivariantAnswer(this.#view.state, this.#texts, this.#view.view?.multivariantHints);
    }
    return this.#deliver(answer);
  }

  /** A preload-hinted part (reads.ts `hintDecision`), held here until a push publishes it. */
  async partReady(call: ReplicaCall, part: PartRef): Promise<Delivered<PartReadyAnswer>> {
    const arrived = await this.#arrive(call);
    this.#counts.partReadyCalls++;
    let decision = hintDecision(this.#view.state, part);
    if (decision === 'not-found') {
      await this.#view.refresh(arrived);
      decision = hintDecision(this.#view.state, part);
    }
    if (decision !== 'wait') return this.#deliver(decision);
    const isMet = () => partPublished(this.#view.state, part);
    const outcome = await this.#view.hold(part.rendition, isMet);
    if (outcome !== 'ready' && !isMet())
      return this.#deliver(outcome === 'timeout' ? 'timeout' : 'not-found');
    // Listed now: with media, or as a gap (a failed rung's part), which no wait would ever fill.
    return this.#deliver(hintDecision(this.#view.state, part) === 'gap' ? 'gap' : 'ready');
  }

  /** Part sizes of a published segment; segments older than the view come from the stream object. */
  async segmentInfo(call: ReplicaCall, part: PartRef): Promise<Delivered<SegmentParts | null>> {
    const arrived = await this.#arrive(call);
    let found = segmentFromView(this.#view.view, part);
    if (found.kind === 'unknown') {
      await this.#view.refresh(arrived);
      found = segmentFromView(this.#view.view, part);
    }
    if (found.kind !== 'ask-stream-object') return this.#deliver(found.kind === 'found' ? found.info : null);
    this.#counts.forwarded++;
    const { rendition, sessionId, msn, part: fromPart } = part;
    return this.#deliver(await this.#streamObject().segmentInfo(rendition, sessionId, msn, fromPart));
  }

  /** An isolate's edge figures when it had no other call to carry them (src/edge/viewers.ts). */
  async recordEdge(call: ReplicaCall): Promise<void> {
    this.#ref ??= call.ref;
    if (call.edge) this.#edge.add(call.edge, this.#view.clock.now());
  }

  /** Origin counters (src/monitoring/origin.ts) of isolates or shards, summed and sent up (origin-forward.ts). */
  async recordOrigin(call: ReplicaCall, counts: OriginCounts): Promise<void> {
    this.#ref ??= call.ref;
    if (call.edge) this.#edge.add(call.edge, this.#view.clock.now());
    await this.#origin.add(counts, Date.now());
  }

  /** QoE beacons of isolates or shards (src/monitoring/beacons.ts), summed and sent up (batched-forward.ts). */
  async recordQoe(call: ReplicaCall, digest: QoeDigest): Promise<void> {
    this.#ref ??= call.ref;
    if (call.edge) this.#edge.add(call.edge, this.#view.clock.now());
    await this.#qoe.add(digest, Date.now());
  }

  /** Test and benchmark counters. */
  async stats() {
    return {
      ...this.#counts,
      waiters: this.#view.waiting,
      catchUps: this.#view.catchUps,
      version: this.#view.view?.version ?? null,
      requestsPerSecond: this.#requests.perSecond(this.#view.clock.now()),
      shardsFed: this.#shards.count,
    };
  }

  /** Tests only (TEST_CLOCK): steps this replica's clock, times out what came due, runs the lag watchdog. */
  async advanceClock(ms: number): Promise<number> {
    this.#testOnly('advanceClock');
    this.#view.clock.advance(ms);
    await this.#view.stepped();
    return this.#view.clock.now();
  }

  /** Tests only (TEST_CLOCK): drops every push from now on (or again takes them), as a cut-off feed would. */
  async severFeed(severed: boolean): Promise<void> {
    this.#testOnly('severFeed');
    this.#severed = severed;
  }

  async #livePlaylist(rendition: string, d: Directives, arrived: number): Promise<PlaylistAnswer> {
    return (
      (await this.#awaitLive(rendition, d, arrived)) ??
      renderLive(this.#view.state, this.#texts, rendition, d)
    );
  }

  /** Null once the view may answer the current event's playlist (at once, or after a hold); else the refusal. */
  async #awaitLive(rendition: string, d: Directives, arrived: number): Promise<PlaylistAnswer | null> {
    const view = this.#view;
    let decision = decideLive(view.state, rendition, d);
    if (decision.kind === 'reject' || decision.kind === 'not-found') {
      // RFC 8216bis 6.2.5.2 "too far ahead" must be the stream's verdict, not this replica's lag.
      await view.refresh(arrived);
      decision = decideLive(view.state, rendition, d);
    }
    if (decision.kind === 'reject' || decision.kind === 'not-found') return decision;
    if (decision.kind === 'wait') {
      const { targetDuration } = view.state;
      const isMet = () => decideLive(view.state, rendition, d).kind !== 'wait';
      if ((await view.hold(rendition, isMet)) !== 'ready') {
        await view.refresh(view.clock.now());
        if (!isMet()) return { kind: 'timeout', targetDuration };
      }
    }
    return null;
  }

  /**
   * The DVR playlist of the view's state (StreamDO.dvrPlaylist is the same from the stream object's): the live
   * answer's wait, then the front, kept here and slid with a call upstream once a segment (dvr-front.ts).
   */
  async #dvrPlaylist(
    rendition: string,
    d: Directives,
    eventId: string,
    arrived: number,
  ): Promise<PlaylistAnswer> {
    const notFound = (): PlaylistAnswer => ({
      kind: 'not-found',
      targetDuration: this.#view.state.targetDuration,
    });
    if (eventId !== this.#view.state.eventId) await this.#view.refresh(arrived);
    const window = this.#view.state.config?.dvrWindow ?? 0;
    if (eventId !== this.#view.state.eventId || window === 0) return notFound();
    const refused = await this.#awaitLive(rendition, d, arrived);
    if (refused) return refused;
    // The state the wait ended on: the front is read for it, and it is rendered whatever arrives meanwhile.
    const state = this.#view.state;
    const before = liveFirstMsn(state, rendition);
    if (before === null) return notFound();
    const plan = this.#fronts.plan(eventId, rendition, before, window);
    let rows: RecordedSegment[];
    if (plan.kind === 'kept') rows = plan.segments;
    else {
      this.#counts.forwarded++;
      const from = plan.kind === 'slide' ? plan.from : null;
      const read = await this.#streamObject().dvrFront(eventId, rendition, before, from);
      rows = this.#fronts.adopt(eventId, rendition, before, window, plan, read);
    }
    return renderDvr(state, this.#dvrTexts, rendition, d, () => rows);
  }

  async #archivedPlaylist(rendition: string, eventId: string): Promise<PlaylistAnswer> {
    const key = `${eventId}|${rendition}`;
    const kept = this.#archived.get(key);
    if (kept) return kept;
    if (!this.#view.view?.archivedEventIds.includes(eventId)) {
      return { kind: 'not-found', targetDuration: this.#view.state.targetDuration };
    }
    this.#counts.forwarded++;
    const answer = await this.#streamObject().playlist(rendition, {}, {}, eventId);
    if (answer.kind === 'playlist') {
      if (this.#archived.size >= ARCHIVED_KEPT) this.#archived.clear();
      this.#archived.set(key, answer);
    }
    return answer;
  }

  /** Notes a viewer call; a missing or stale view is refreshed before the answer. */
  async #arrive(call: ReplicaCall): Promise<number> {
    const now = this.#view.clock.now();
    this.#requests.note(now);
    this.#lastViewerAt = now;
    this.#ref ??= call.ref;
    this.#shardsInUse = call.shards;
    if (call.edge) this.#edge.add(call.edge, now);
    if (this.#view.isStale(now)) await this.#view.refresh(now);
    return now;
  }

  #deliver<T>(answer: T): Delivered<T> {
    const ceiling = Number(this.env.REPLICA_CEILING ?? DEFAULT_REPLICA_CEILING) || DEFAULT_REPLICA_CEILING;
    const requestsPerSecond = this.#requests.perSecond(this.#view.clock.now());
    return {
      answer,
      shards: recommendShards({ requestsPerSecond, shardsInUse: this.#shardsInUse, ceiling }),
      segmentTarget: this.#view.state.config?.segmentTarget ?? 0,
    };
  }

  #streamObject() {
    return streamObjectOf(this.env, this.#identity());
  }

  #identity(): ReplicaRef {
    if (!this.#ref) throw new Error('replica has no identity yet');
    return this.#ref;
  }

  #testOnly(what: string): void {
    if (this.env.TEST_CLOCK !== '1') throw new Error(`${what} needs the TEST_CLOCK binding`);
  }
}
