/**
 * Sharding a region's replica (DESIGN.md, Scale): when one replica's request rate would pass a configured
 * ceiling, the region's isolates spread over several replicas, each isolate always on the same one (a hash of
 * its id), so a shard's request rate is its share of the region's isolates. Each replica recommends the shard
 * count in its answers; isolates take the latest recommendation they saw. Pure.
 */

/** Requests a second one replica may take before its region shards (DESIGN.md: every replica under 500). */
export const DEFAULT_REPLICA_CEILING = 500;
/** Shards one region may use: a bound on the stream object's fan-out per region. */
export const MAX_SHARDS = 16;
/** A region shrinks only when one shard fewer keeps the others under this fraction of the ceiling. */
const SHRINK_HEADROOM = 0.7;

/** 32-bit FNV-1a: a stable, well-spread hash of a short string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard an isolate uses when its region has `shards` replicas. */
export function shardOf(isolateId: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a(isolateId) % Math.floor(shards);
}

export interface ShardLoad {
  /** This replica's request rate, per second. */
  requestsPerSecond: number;
  /** The shard count the isolates that reach it use. */
  shardsInUse: number;
  /** Requests per second one replica may take. */
  ceiling: number;
}

/**
 * How many shards the region should use. Every shard carries about the same share, so the region's rate is
 * about `requestsPerSecond * shardsInUse`: grow to keep each under the ceiling, shrink one at a time when the
 * rest would stay under SHRINK_HEADROOM of it (hysteresis, so a rate near the ceiling does not flap).
 */
export function recommendShards(load: ShardLoad): number {
  const inUse = Math.max(1, Math.min(MAX_SHARDS, Math.floor(load.shardsInUse)));
  if (!(load.ceiling > 0)) return inUse;
  const regionRate = load.requestsPerSecond * inUse;
  if (load.requestsPerSecond > load.ceiling) {
    return Math.min(MAX_SHARDS, Math.ceil(regionRate / load.ceiling));
  }
  if (inUse > 1 && regionRate / (inUse - 1) < SHRINK_HEADROOM * load.ceiling) return inUse - 1;
  return inUse;
}
