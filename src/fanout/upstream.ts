/**
 * Where a replica's calls go up the tree (DESIGN.md, Scale): a region's shard 0 to the stream object, the
 * region's other shards to shard 0 (region-shards.ts). Catch-ups, origin counters and QoE beacons take that way; reads the
 * view cannot answer (archived playlists, segments older than the window) go to the stream object itself.
 */
import { type Env, streamObject } from '../env.ts';
import type { OriginCounts } from '../monitoring/origin.ts';
import type { QoeDigest } from '../monitoring/qoe.ts';
import { asLocationHint, type ReplicaRef, replicaName } from './regions.ts';
import type { ReplicaView } from './view.ts';

export function streamObjectOf(env: Env, ref: ReplicaRef) {
  return streamObject(env, ref.streamId);
}

export function shardZeroOf(env: Env, ref: ReplicaRef) {
  const first = { ...ref, shard: 0 };
  const hint = asLocationHint(first.region);
  return env.REPLICA.get(env.REPLICA.idFromName(replicaName(first)), hint ? { locationHint: hint } : {});
}

/** The view of the replica's upstream, fetched now (and registering it for that upstream's feed). */
export function syncFromUpstream(env: Env, ref: ReplicaRef): Promise<ReplicaView> {
  return ref.shard === 0 ? streamObjectOf(env, ref).syncReplica(ref) : shardZeroOf(env, ref).syncReplica(ref);
}

/** Summed origin counters, one step up. */
export function originUpstream(env: Env, ref: ReplicaRef, counts: OriginCounts): Promise<unknown> {
  if (ref.shard === 0) return streamObjectOf(env, ref).recordOrigin(counts, Date.now());
  return shardZeroOf(env, ref).recordOrigin({ ref: { ...ref, shard: 0 }, shards: 1, edge: null }, counts);
}

/** Summed QoE beacons (src/monitoring/beacons.ts), one step up. */
export function qoeUpstream(env: Env, ref: ReplicaRef, digest: QoeDigest): Promise<unknown> {
  if (ref.shard === 0) return streamObjectOf(env, ref).recordQoe(digest, Date.now());
  return shardZeroOf(env, ref).recordQoe({ ref: { ...ref, shard: 0 }, shards: 1, edge: null }, digest);
}
