/**
 * The stream's delivery figures (health `delivery`, /v1/metrics), from the stream object's own request rate and
 * the answers its replicas gave to the latest push (feed.ts `ReplicaAck`). Pure.
 */
import type { FeedEntry } from './feed.ts';

/** What the stream object handled since it started, by who asked (totals). */
export interface StreamObjectCalls {
  /** The relay: sessions, inits, parts, health reports; and the object's own alarms. */
  ingest: number;
  /** Playlist, segment and hint reads (from replicas, for what their view lacks). */
  reads: number;
  /** Replica catch-ups and registrations (syncReplica). */
  catchUps: number;
  /** Pushes sent, one per replica per change. */
  pushes: number;
  /** Viewer QoE beacons and origin counters (the latter one per replica every 5 s). */
  monitoring: number;
}

export interface DeliveryFigures {
  /** Replicas fed: the regions' shard 0s the stream object feeds, and the shards they feed. */
  replicas: number;
  /** Everything the stream object handles a second: relay calls, replica catch-ups, viewer calls, pushes out. */
  streamObjectRequestsPerSecond: number;
  /** Viewer requests a second that reached each region's replicas (shards summed). */
  replicaRequestsPerSecond: Record<string, number>;
  /** Edge-cache hits over lookups (blocking playlists and parts) in the replicas' isolates; null before any. */
  cacheHitRatio: number | null;
  /** Distinct viewers the isolates saw within two segment targets (src/edge/viewers.ts). */
  viewers: number;
  /** Totals behind the rates: the stream object's calls by tier, and viewer requests per region's replicas. */
  streamObjectCalls: StreamObjectCalls;
  replicaRequests: Record<string, number>;
}

export function deliveryFigures(
  entries: readonly FeedEntry[],
  objectRate: number,
  calls: StreamObjectCalls,
): DeliveryFigures {
  const replicaRequestsPerSecond: Record<string, number> = {};
  const replicaRequests: Record<string, number> = {};
  let viewers = 0;
  let lookups = 0;
  let hits = 0;
  for (const e of entries) {
    const ack = e.ack;
    const region = e.ref.region;
    replicaRequestsPerSecond[region] = round(
      (replicaRequestsPerSecond[region] ?? 0) + (ack?.requestsPerSecond ?? 0),
    );
    replicaRequests[region] = (replicaRequests[region] ?? 0) + (ack?.requests ?? 0);
    if (!ack) continue;
    viewers += ack.viewers;
    lookups += ack.cacheLookups;
    hits += ack.cacheHits;
  }
  return {
    replicas: entries.reduce((n, e) => n + (e.ack?.replicas ?? 1), 0),
    streamObjectRequestsPerSecond: round(objectRate),
    replicaRequestsPerSecond,
    cacheHitRatio: lookups > 0 ? round(hits / lookups, 3) : null,
    viewers,
    streamObjectCalls: { ...calls },
    replicaRequests,
  };
}

function round(n: number, digits = 1): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}
