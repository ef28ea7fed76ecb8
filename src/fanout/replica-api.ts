/**
 * What an isolate sends a replica with every call and what comes back besides the answer (replica-do.ts):
 * who is asking (the replica's own name parts, so it can reach its stream object), the shard count the isolate
 * used, and its edge figures when a report is due; back come the shard count the replica recommends and the
 * stream's segment target (the isolate's viewer window, src/edge/viewers.ts).
 */
import type { EdgeReport } from '../edge/viewers.ts';
import type { ReplicaRef } from './regions.ts';

export interface ReplicaCall {
  ref: ReplicaRef;
  /** Shards the isolate's region uses, as far as the isolate knows (shards.ts). */
  shards: number;
  edge: EdgeReport | null;
}

export interface Delivered<T> {
  answer: T;
  /** The shard count this replica recommends for its region (shards.ts `recommendShards`). */
  shards: number;
  /** The stream's segment target, seconds (the viewer window, src/edge/viewers.ts); 0 while it has no config. */
  segmentTarget: number;
}
