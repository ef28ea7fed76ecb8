/**
 * A region's shard 0 feeds the region's other shards (shards.ts): the stream object pushes once per part to
 * each region, not once per shard, so its load stays with the number of regions however far a region shards;
 * shard 0 passes each view on, unchanged (same version), and answers the stream object with the region's
 * figures summed. Shards 1..n catch up from shard 0, which catches up from the stream object.
 */
import { type FeedNamespace, kvFeedStore, type ReplicaAck, ReplicaFeed } from './feed.ts';
import type { ReplicaRef } from './regions.ts';
import type { ReplicaView } from './view.ts';

export class RegionShards {
  readonly #feed: ReplicaFeed;

  constructor(namespace: FeedNamespace, kv: SyncKvStorage, now: number) {
    // Views pass through with the stream object's version: this feed never makes one (its epoch is unused).
    this.#feed = new ReplicaFeed(namespace, kvFeedStore(kv), 0, now);
  }

  register(ref: ReplicaRef, now: number): void {
    this.#feed.register(ref, now);
  }

  get count(): number {
    return this.#feed.entries().length;
  }

  /** Passes a view on to every shard of the region (awaited, as the stream object awaits this push). */
  forward(view: ReplicaView): Promise<void> {
    return this.count > 0 ? this.#feed.push(view) : Promise.resolve();
  }

  /** This replica's own answer plus its shards' last answers: the region's figures. */
  aggregate(own: ReplicaAck): ReplicaAck {
    const total = { ...own, replicas: 1 };
    for (const { ack } of this.#feed.entries()) {
      if (!ack) {
        total.replicas++;
        continue;
      }
      total.replicas += ack.replicas;
      total.requestsPerSecond += ack.requestsPerSecond;
      total.requests += ack.requests;
      total.viewers += ack.viewers;
      total.cacheLookups += ack.cacheLookups;
      total.cacheHits += ack.cacheHits;
    }
    total.keep = own.keep || this.count > 0;
    return total;
  }
}
