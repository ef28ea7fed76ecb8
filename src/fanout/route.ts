/**
 * The isolate's way to its region's replica (DESIGN.md, Scale): the region from the request (regions.ts), the
 * shard from this isolate's id and the shard count the region's replicas last recommended (shards.ts).
 */

import type { EdgeReport } from '../edge/viewers.ts';
import type { Env } from '../env.ts';
import { type CfLocation, type ReplicaRef, replicaName, requestRegion } from './regions.ts';
import type { Delivered, ReplicaCall } from './replica-api.ts';
import { shardOf } from './shards.ts';

let isolateId: string | null = null;

/** This isolate's id: random, made on first use (randomness is not available at module scope in Workers). */
export function isolateIdentity(): string {
  isolateId ??= crypto.randomUUID();
  return isolateId;
}

/** Shard counts per stream and region, as the replicas last recommended them. */
const shardCounts = new Map<string, number>();
/** Bounds the map under a scan of made-up stream ids. */
const MAX_ENTRIES = 10_000;

export interface ReplicaRoute {
  call: ReplicaCall;
  /** The isolate the call is made for (its own id; in dev mode, possibly a simulated one). */
  isolate: string;
  stub: DurableObjectStub<import('./replica-do.ts').StreamReplica>;
}

export function replicaRoute(
  env: Env,
  request: Request,
  streamId: string,
  edge: EdgeReport | null,
  isolate: string = isolateIdentity(),
): ReplicaRoute {
  const cf = request.cf as CfLocation | undefined;
  const { region, locationHint } = requestRegion(request.headers, cf, env.DEV_MODE === '1');
  const shards = shardCounts.get(`${streamId}/${region}`) ?? 1;
  const ref: ReplicaRef = { streamId, region, shard: shardOf(isolate, shards) };
  const id = env.REPLICA.idFromName(replicaName(ref));
  const stub = env.REPLICA.get(id, locationHint ? { locationHint } : {});
  return { call: { ref, shards, edge }, isolate, stub };
}

/** Takes the shard count a replica recommended in its answer. */
export function noteDelivered(route: ReplicaRoute, delivered: Delivered<unknown>): void {
  const key = `${route.call.ref.streamId}/${route.call.ref.region}`;
  if (delivered.shards === route.call.shards && !shardCounts.has(key)) return;
  if (shardCounts.size >= MAX_ENTRIES) shardCounts.clear();
  shardCounts.set(key, delivered.shards);
}
