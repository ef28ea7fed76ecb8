/**
 * The view a replica answers from, kept fresh, and the requests waiting on it. A view only moves forward
 * (view.ts `newerThan`), so nothing answered from it is older than an earlier answer. It is stale once no push
 * or catch-up confirmed it for two part targets while the stream is live (IDLE_STALE_MS otherwise): the
 * replica then refreshes it before answering, and a watchdog refreshes it while requests wait, which is how a
 * replica cut off from its feed catches up. Time comes from a stepped clock (tests move it, clock.ts).
 */
import { SteppedClock } from '../stream/clock.ts';
import { emptyState, type StreamState } from '../stream/model.ts';
import { HeldRequests, type WaitOutcome } from '../stream/waiters.ts';
import { CatchUp } from './catch-up.ts';
import { newerThan, type ReplicaView } from './view.ts';

const MIN_STALE_MS = 200;
const IDLE_STALE_MS = 5_000;
const EMPTY = emptyState();

export class HeldView {
  readonly clock = new SteppedClock();
  readonly #held = new HeldRequests(this.clock);
  readonly #catchUp: CatchUp;
  readonly #onNewer: (view: ReplicaView) => Promise<void>;
  #view: ReplicaView | null = null;
  /** Clock ms when a push or catch-up last confirmed the view. */
  #syncedAt = Number.NEGATIVE_INFINITY;
  #watchdog: ReturnType<typeof setTimeout> | null = null;

  /** `fetch`: the upstream's current view (upstream.ts); `onNewer`: runs after a newer view is taken. */
  constructor(fetch: () => Promise<ReplicaView>, onNewer: (view: ReplicaView) => Promise<void>) {
    this.#onNewer = onNewer;
    this.#catchUp = new CatchUp(
      async () => {
        const view = await fetch();
        if (this.apply(view)) await onNewer(view);
      },
      () => this.clock.now(),
    );
  }

  get view(): ReplicaView | null {
    return this.#view;
  }

  get state(): StreamState {
    return this.#view?.state ?? EMPTY;
  }

  get waiting(): number {
    return this.#held.size;
  }

  get catchUps(): number {
    return this.#catchUp.calls;
  }

  /** Takes a pushed or fetched view if it is newer (true), waking the requests it satisfies. */
  apply(view: ReplicaView): boolean {
    this.#syncedAt = this.clock.now();
    if (this.#view && !newerThan(view.version, this.#view.version)) return false;
    this.#view = view;
    this.#held.settle();
    return true;
  }

  /** A pushed view: taken if newer, then passed on (a region's shard 0 feeds its shards). */
  async receive(view: ReplicaView): Promise<void> {
    if (this.apply(view)) await this.#onNewer(view);
  }

  isStale(now: number): boolean {
    if (!this.#view) return true;
    return now - this.#syncedAt > this.#freshForMs();
  }

  /** A view fetched after `since` (catch-up.ts); on failure the replica goes on with what it has. */
  async refresh(since: number): Promise<void> {
    await this.#catchUp.after(since).catch((err) => {
      console.warn('replica catch-up failed', String(err));
    });
  }

  /** Holds a request until `isMet`, at most three target durations (RFC 8216bis 6.2.5.2, DESIGN.md). */
  hold(rendition: string, isMet: () => boolean): Promise<WaitOutcome> {
    const outcome = this.#held.hold(rendition, isMet, 3 * this.state.targetDuration * 1000);
    this.#armWatchdog();
    return outcome;
  }

  /** Tests: the clock moved; time out what came due and run the watchdog's check. */
  async stepped(): Promise<void> {
    this.#held.expireDue();
    await this.#checkLag();
  }

  #freshForMs(): number {
    const { status, config } = this.state;
    return status === 'live' && config ? Math.max(MIN_STALE_MS, 2000 * config.partTarget) : IDLE_STALE_MS;
  }

  #armWatchdog(): void {
    if (this.#watchdog || this.#held.size === 0) return;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = null;
      void this.#checkLag().finally(() => this.#armWatchdog());
    }, this.#freshForMs());
  }

  async #checkLag(): Promise<void> {
    const now = this.clock.now();
    if (this.#held.size > 0 && this.isStale(now)) await this.refresh(now);
  }
}
