/**
 * The stream object's part of the fan-out, kept out of its shell (src/stream/stream-do.ts): the feed of its
 * replicas (feed.ts), when pushes go (push-timing.ts decides, this runs it), the replicas' catch-ups, and the
 * count of everything the object handles (health `delivery`).
 */
import type { MultivariantHints } from '../hls/variants.ts';
import type { StreamState } from '../stream/model.ts';
import { type DeliveryFigures, deliveryFigures, type StreamObjectCalls } from './delivery.ts';
import { type FeedNamespace, kvFeedStore, ReplicaFeed } from './feed.ts';
import { RateMeter } from './rate.ts';
import type { ReplicaRef } from './regions.ts';
import type { ReplicaView } from './view.ts';

export interface ObjectSideDeps {
  namespace: FeedNamespace;
  kv: SyncKvStorage;
  /** The object's clock (epoch ms). */
  now: () => number;
  /** The current state and archived events: what a view is made of. */
  current: () => { state: StreamState; archive: readonly StreamState[]; hints: MultivariantHints };
}

export class StreamObjectFanout {
  readonly #feed: ReplicaFeed;
  readonly #deps: ObjectSideDeps;
  readonly #load = new RateMeter();
  readonly #calls: StreamObjectCalls = { ingest: 0, reads: 0, catchUps: 0, pushes: 0, monitoring: 0 };
  #pushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(deps: ObjectSideDeps) {
    this.#deps = deps;
    this.#feed = new ReplicaFeed(deps.namespace, kvFeedStore(deps.kv), Date.now(), deps.now());
  }

  /** Counts one call the object handles (or `n`, for pushes out). */
  note(tier: keyof StreamObjectCalls, n = 1): void {
    this.#load.note(this.#deps.now(), n);
    this.#calls[tier] += n;
  }

  /** A replica's catch-up: registers it for the feed (again, after it was cut off) and answers the view. */
  sync(ref: ReplicaRef): ReplicaView {
    this.note('catchUps');
    this.#feed.register(ref, this.#deps.now());
    return this.#view();
  }

  /** The `push-replicas` effect: the current view to every live replica, now or after `delayMs`. */
  async push(delayMs = 0): Promise<void> {
    if (delayMs > 0) {
      this.#pushTimer ??= setTimeout(() => void this.push(), delayMs);
      return;
    }
    if (this.#pushTimer) clearTimeout(this.#pushTimer);
    this.#pushTimer = null;
    const replicas = this.#feed.entries().length;
    if (replicas === 0) return;
    this.note('pushes', replicas);
    await this.#feed.push(this.#view());
  }

  delivery(): DeliveryFigures {
    return deliveryFigures(this.#feed.entries(), this.#load.perSecond(this.#deps.now()), this.#calls);
  }

  /** Tests: pushes sent in all and per replica name, and catch-ups taken. */
  stats(): { pushes: number; replicas: Record<string, number>; syncCalls: number } {
    const replicas = Object.fromEntries(this.#feed.entries().map((e) => [e.name, e.pushes]));
    return { pushes: this.#feed.pushes, replicas, syncCalls: this.#calls.catchUps };
  }

  #view(): ReplicaView {
    const { state, archive, hints } = this.#deps.current();
    return this.#feed.view(state, archive, hints);
  }
}
