/**
 * Test support for the fan-out tree (src/fanout/): the replicas a stream object feeds, by the names it knows
 * them under, and replica calls made the way an isolate makes them, with an isolate identity of the test's
 * choosing (a test process is one isolate, so per-isolate coalescing would fold every viewer into one call).
 */
import { env } from 'cloudflare:test';
import { expect, vi } from 'vitest';
import { type ReplicaRef, replicaName } from '../../../src/fanout/regions.ts';
import type { ReplicaCall } from '../../../src/fanout/replica-api.ts';
import { streamStub } from './media.ts';

export function replicaStub(ref: ReplicaRef) {
  return env.REPLICA.get(env.REPLICA.idFromName(replicaName(ref)));
}

/** The replica stub of a registered replica's name (`{streamId}/{region}/{shard}`). */
export function replicaByName(name: string) {
  return env.REPLICA.get(env.REPLICA.idFromName(name));
}

/** Waits until the stream object feeds exactly one replica, and returns its stub. */
export async function onlyReplica(streamId: string) {
  let names: string[] = [];
  await vi.waitFor(
    async () => {
      names = Object.keys((await streamStub(streamId).stats()).replicas);
      expect(names).toHaveLength(1);
    },
    { interval: 10, timeout: 5_000 },
  );
  return replicaByName(names[0] as string);
}

/** A call as an isolate of `region` makes it (no edge report). */
export function callFrom(streamId: string, region: string, shard = 0): ReplicaCall {
  return { ref: { streamId, region, shard }, shards: 1, edge: null };
}
