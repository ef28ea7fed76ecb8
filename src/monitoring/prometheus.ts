/**
 * The Worker's Prometheus text (exposition format 0.0.4), per stream: delivery (src/fanout/delivery.ts),
 * viewers, and origin counters (origin.ts). Pure: the route gathers the figures, this renders them.
 */
import type { DeliveryFigures } from '../fanout/delivery.ts';
import type { OriginCounts } from './origin.ts';

export interface StreamFigures {
  streamId: string;
  delivery: DeliveryFigures;
  /** Totals since the stream object started; null when it has none. */
  origin: OriginCounts | null;
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: (s: StreamFigures) => { labels?: Record<string, string>; value: number | null }[];
}

const FAMILIES: Family[] = [
  {
    name: 'edge_live_viewers',
    type: 'gauge',
    help: 'Distinct viewers (IP and User-Agent) the isolates saw within two segment targets.',
    samples: (s) => [{ value: s.delivery.viewers }],
  },
  {
    name: 'edge_live_replicas',
    type: 'gauge',
    help: 'Replicas the stream object feeds.',
    samples: (s) => [{ value: s.delivery.replicas }],
  },
  {
    name: 'edge_live_stream_object_requests_per_second',
    type: 'gauge',
    help: 'Requests the stream object handles a second (relay, replica catch-ups, viewers, pushes out).',
    samples: (s) => [{ value: s.delivery.streamObjectRequestsPerSecond }],
  },
  {
    name: 'edge_live_replica_requests_per_second',
    type: 'gauge',
    help: 'Viewer requests a second reaching the replicas of a region.',
    samples: (s) =>
      Object.entries(s.delivery.replicaRequestsPerSecond).map(([region, value]) => ({
        labels: { region },
        value,
      })),
  },
  {
    name: 'edge_live_edge_cache_hit_ratio',
    type: 'gauge',
    help: 'Edge-cache hits over lookups (blocking playlists and parts) in the last ten seconds.',
    samples: (s) => [{ value: s.delivery.cacheHitRatio }],
  },
  ...(['playlists', 'blockingPlaylists', 'media', 'cacheHits'] as const).map(
    (field): Family => ({
      name: `edge_live_origin_${snake(field)}_total`,
      type: 'counter',
      help: `Viewer requests counted by the isolates: ${field}.`,
      samples: (s) => [{ value: s.origin ? s.origin[field] : null }],
    }),
  ),
];

export function renderMetrics(streams: readonly StreamFigures[]): string {
  const lines: string[] = [];
  for (const family of FAMILIES) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const s of streams) {
      for (const { labels, value } of family.samples(s)) {
        if (value === null || !Number.isFinite(value)) continue;
        lines.push(`${family.name}{${labelText({ stream: s.streamId, ...labels })}} ${value}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function labelText(labels: Record<string, string>): string {
  // Exposition format: label values escape backslash, double quote and newline.
  const escaped = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escaped(v)}"`)
    .join(',');
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
}
