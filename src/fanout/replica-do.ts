/**
 * One replica of a stream's playlist state per region (and shard): it holds its region's waiting requests and
 * answers them with the stream object's own answering functions (src/stream/playlist-answers.ts, the src/hls
 * renderer), so the stream object serves one push per part per replica instead of a call per isolate.
 *
 * - Fed: the stream object pushes a view on every change (`receive`); the newest version wins.
 * - Registered: its first viewer makes it catch up (`syncReplica`), which also puts it on the feed; it leaves
 *   the feed by answering a push idle (no viewer for REPLICA_IDLE_MS).
 * - Never behind for long: a view not confirmed for `staleAfterMs` (two part targets while live) is refreshed
 *   before it answers, and a watchdog refreshes it while requests wait, so a replica cut off from its feed
 *   catches up on its own. Views only move forward, so no viewer sees a playlist older than one it was served.
 * - Never refuses only because it is behind: a 400 or 404 is decided again on a view fetched after the
 *   request arrived (catch-up.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.ts';
import type { Directives } from '../hls/directives.ts';
import type { OriginCounts } from '../monitoring/origin.ts';
import { SteppedClock } from '../stream/clock.ts';
import { emptyState, type StreamState } from '../stream/model.ts';
import {
  decideLive,
  type MultivariantAnswer,
  multivariantAnswer,
  type PlaylistAnswer,
  renderLive,
} from '../stream/playlist-answers.ts';
import { PlaylistTexts } from '../stream/playlist-texts.ts';
import { hintDecision, type PartRef, partPublished } from '../stream/reads.ts';
import type { PartReadyAnswer } from '../stream/stream-do.ts';
import { HeldRequests, type WaitOutcome } from '../stream/waiters.ts';
import { CatchUp } from './catch-up.ts';
import { EdgeFigures } from './edge-figures.ts';
import type { ReplicaAck } from './feed.ts';
import { OriginForward } from './origin-forward.ts';
import { RateMeter } from './rate.ts';
import type { ReplicaRef } from './regions.ts';
import type { Delivered, ReplicaCall } from './replica-api.ts';
import { segmentFromView } from './replica-reads.ts';
import { DEFAULT_REPLICA_CEILING, recommendShards } from './shards.ts';
import { newerThan, type ReplicaView } from './view.ts';

/** A replica with no viewer request for this long answers pushes idle and leaves the feed. */
export const REPLICA_IDLE_MS = 30_000;
/** Milliseconds a view stays fresh without a push: two part targets while live (at least this), else ENDED. */
const MIN_STALE_MS = 200;
const IDLE_STALE_MS = 5_000;
/** Archived playlists kept (they never change; a replica fetches each once). */
const ARCHIVED_KEPT = 32;

export class StreamReplica extends DurableObject<Env> {
  #ref: ReplicaRef | null = null;
  #view: ReplicaView | null = null;
  /** Replica clock (epoch ms) when a push or catch-up last confirmed the view. */
  #syncedAt = Number.NEGATIVE_INFINITY;
  #lastViewerAt = Number.NEGATIVE_INFINITY;
  #shardsInUse = 1;
  #severed = false;
  #watchdog: ReturnType<typeof setTimeout> | null = null;
  readonly #clock = new SteppedClock();
  readonly #held = new HeldRequests(this.#clock);
  readonly #texts = new PlaylistTexts();
  readonly #archived = new Map<string, PlaylistAnswer>();
  readonly #requests = new RateMeter();
  readonly #edge = new EdgeFigures();
  readonly #catchUp = new CatchUp(
    () => this.#fetchView(),
    () => this.#clock.now(),
  );
  readonly #origin = new OriginForward((counts) => this.#streamObject().recordOrigin(counts, Date.now()));
  readonly #counts = { pushes: 0, playlistCalls: 0, partReadyCalls: 0, forwarded: 0 };

  /** The stream object's push (feed.ts). */
  async receive(view: ReplicaView): Promise<ReplicaAck> {
    this.#counts.pushes++;
    // A severed feed (tests only) loses the push on the way, as a dropped connection would.
    if (!this.#severed) this.#apply(view);
    const now = this.#clock.now();
    const cache = this.#edge.cache(now);
    return {
      keep: now - this.#lastViewerAt < REPLICA_IDLE_MS,
      requestsPerSecond: this.#requests.perSecond(now),
      requests: this.#requests.total,
      viewers: this.#edge.viewers(now),
      cacheLookups: cache.lookups,
      cacheHits: cache.hits,
    };
  }

  async playlist(
    call: ReplicaCall,
    rendition: string,
    directives: Directives,
    eventId: string | null,
  ): Promise<Delivered<PlaylistAnswer>> {
    const arrived = await this.#arrive(call);
    this.#counts.playlistCalls++;
    if (eventId !== null && eventId !== this.#state().eventId) {
      // Another event: an archived one (fetched once), or a newer one this view has not seen yet.
      if (!this.#view?.archivedEventIds.includes(eventId)) await this.#refresh(arrived);
      if (eventId !== this.#state().eventId)
        return this.#deliver(await this.#archivedPlaylist(rendition, eventId));
    }
    return this.#deliver(await this.#livePlaylist(rendition, directives, arrived));
  }

  async multivariant(call: ReplicaCall): Promise<Delivered<MultivariantAnswer>> {
    const arrived = await this.#arrive(call);
    let answer = multivariantAnswer(this.#state(), this.#texts);
    if (answer.kind === 'not-found') {
      await this.#refresh(arrived);
      answer = multivariantAnswer(this.#state(), this.#texts);
    }
    return this.#deliver(answer);
  }

  /** A preload-hinted part (reads.ts `hintDecision`), held here until a push publishes it. */
  async partReady(call: ReplicaCall, part: PartRef): Promise<Delivered<PartReadyAnswer>> {
    const arrived = await this.#arrive(call);
    this.#counts.partReadyCalls++;
    let decision = hintDecision(this.#state(), part);
    if (decision === 'not-found') {
      await this.#refresh(arrived);
      decision = hintDecision(this.#state(), part);
    }
    if (decision !== 'wait') return this.#deliver(decision);
    const isMet = () => partPublished(this.#state(), part);
    const outcome = await this.#hold(part.rendition, isMet);
    return this.#deliver(
      outcome === 'ready' || isMet() ? 'ready' : outcome === 'timeout' ? 'timeout' : 'not-found',
    );
  }

  /** Part sizes of a published segment; segments older than the view come from the stream object. */
  async segmentInfo(call: ReplicaCall, part: PartRef): Promise<Delivered<{ partSizes: number[] } | null>> {
    const arrived = await this.#arrive(call);
    let found = segmentFromView(this.#view, part);
    if (found.kind === 'unknown') {
      await this.#refresh(arrived);
      found = segmentFromView(this.#view, part);
    }
    if (found.kind !== 'ask-stream-object') return this.#deliver(found.kind === 'found' ? found.info : null);
    this.#counts.forwarded++;
    const { rendition, sessionId, msn, part: fromPart } = part;
    return this.#deliver(await this.#streamObject().segmentInfo(rendition, sessionId, msn, fromPart));
  }

  /** An isolate's edge figures when it had no other call to carry them (src/edge/viewers.ts). */
  async recordEdge(call: ReplicaCall): Promise<void> {
    this.#ref ??= call.ref;
    if (call.edge) this.#edge.add(call.edge, this.#clock.now());
  }

  /** An isolate's origin counters (src/monitoring/origin.ts), summed and forwarded (origin-forward.ts). */
  async recordOrigin(call: ReplicaCall, counts: OriginCounts): Promise<void> {
    this.#ref ??= call.ref;
    if (call.edge) this.#edge.add(call.edge, this.#clock.now());
    await this.#origin.add(counts, Date.now());
  }

  /** Test and benchmark counters. */
  async stats() {
    return {
      ...this.#counts,
      waiters: this.#held.size,
      catchUps: this.#catchUp.calls,
      version: this.#view?.version ?? null,
      requestsPerSecond: this.#requests.perSecond(this.#clock.now()),
    };
  }

  /** Tests only (TEST_CLOCK): steps this replica's clock, times out what came due, runs the lag watchdog. */
  async advanceClock(ms: number): Promise<number> {
    this.#testOnly('advanceClock');
    this.#clock.advance(ms);
    this.#held.expireDue();
    await this.#checkLag();
    return this.#clock.now();
  }

  /** Tests only (TEST_CLOCK): drops every push from now on (or again takes them), as a cut-off feed would. */
  async severFeed(severed: boolean): Promise<void> {
    this.#testOnly('severFeed');
    this.#severed = severed;
  }

  async #livePlaylist(rendition: string, d: Directives, arrived: number): Promise<PlaylistAnswer> {
    let decision = decideLive(this.#state(), rendition, d);
    if (decision.kind === 'reject' || decision.kind === 'not-found') {
      // RFC 8216bis 6.2.5.2 "too far ahead" must be the stream's verdict, not this replica's lag.
      await this.#refresh(arrived);
      decision = decideLive(this.#state(), rendition, d);
    }
    if (decision.kind === 'reject' || decision.kind === 'not-found') return decision;
    if (decision.kind === 'wait') {
      const { targetDuration } = this.#state();
      const isMet = () => decideLive(this.#state(), rendition, d).kind !== 'wait';
      if ((await this.#hold(rendition, isMet)) !== 'ready') {
        await this.#refresh(this.#clock.now());
        if (!isMet()) return { kind: 'timeout', targetDuration };
      }
    }
    return renderLive(this.#state(), this.#texts, rendition, d);
  }

  async #archivedPlaylist(rendition: string, eventId: string): Promise<PlaylistAnswer> {
    const key = `${eventId}|${rendition}`;
    const kept = this.#archived.get(key);
    if (kept) return kept;
    if (!this.#view?.archivedEventIds.includes(eventId)) {
      return { kind: 'not-found', targetDuration: this.#state().targetDuration };
    }
    this.#counts.forwarded++;
    const answer = await this.#streamObject().playlist(rendition, {}, {}, eventId);
    if (answer.kind === 'playlist') {
      if (this.#archived.size >= ARCHIVED_KEPT) this.#archived.clear();
      this.#archived.set(key, answer);
    }
    return answer;
  }

  #state(): StreamState {
    return this.#view?.state ?? EMPTY;
  }

  /** Notes a viewer call; a missing or stale view is refreshed before the answer. */
  async #arrive(call: ReplicaCall): Promise<number> {
    const now = this.#clock.now();
    this.#requests.note(now);
    this.#lastViewerAt = now;
    this.#ref ??= call.ref;
    this.#shardsInUse = call.shards;
    if (call.edge) this.#edge.add(call.edge, now);
    if (this.#isStale(now)) await this.#refresh(now);
    return now;
  }

  #isStale(now: number): boolean {
    if (!this.#view) return true;
    const { status, config } = this.#view.state;
    const freshFor =
      status === 'live' && config ? Math.max(MIN_STALE_MS, 2000 * config.partTarget) : IDLE_STALE_MS;
    return now - this.#syncedAt > freshFor;
  }

  /** A view from the stream object fetched after `since`; on failure the replica answers from what it has. */
  async #refresh(since: number): Promise<void> {
    await this.#catchUp.after(since).catch((err) => {
      console.warn('replica catch-up failed', this.#ref, String(err));
    });
  }

  async #fetchView(): Promise<void> {
    if (!this.#ref) throw new Error('replica has no identity yet');
    this.#apply(await this.#streamObject().syncReplica(this.#ref));
  }

  #apply(view: ReplicaView): void {
    this.#syncedAt = this.#clock.now();
    if (this.#view && !newerThan(view.version, this.#view.version)) return;
    this.#view = view;
    this.#held.settle();
  }

  #hold(rendition: string, isMet: () => boolean): Promise<WaitOutcome> {
    const limit = 3 * this.#state().targetDuration * 1000;
    const outcome = this.#held.hold(rendition, isMet, limit);
    this.#armWatchdog();
    return outcome;
  }

  /** While requests wait, a view that went stale (no push) is refreshed: the feed may have been cut. */
  #armWatchdog(): void {
    if (this.#watchdog || this.#held.size === 0) return;
    const partTarget = this.#state().config?.partTarget ?? 1;
    this.#watchdog = setTimeout(
      () => {
        this.#watchdog = null;
        void this.#checkLag().finally(() => this.#armWatchdog());
      },
      Math.max(MIN_STALE_MS, 2000 * partTarget),
    );
  }

  async #checkLag(): Promise<void> {
    const now = this.#clock.now();
    if (this.#held.size > 0 && this.#isStale(now)) await this.#refresh(now);
  }

  #deliver<T>(answer: T): Delivered<T> {
    const ceiling = Number(this.env.REPLICA_CEILING ?? DEFAULT_REPLICA_CEILING) || DEFAULT_REPLICA_CEILING;
    const requestsPerSecond = this.#requests.perSecond(this.#clock.now());
    return {
      answer,
      shards: recommendShards({ requestsPerSecond, shardsInUse: this.#shardsInUse, ceiling }),
      partTarget: this.#state().config?.partTarget ?? 0,
    };
  }

  #streamObject() {
    if (!this.#ref) throw new Error('replica has no identity yet');
    return this.env.STREAM.get(this.env.STREAM.idFromName(this.#ref.streamId));
  }

  #testOnly(what: string): void {
    if (this.env.TEST_CLOCK !== '1') throw new Error(`${what} needs the TEST_CLOCK binding`);
  }
}

const EMPTY = emptyState();
