/**
 * Viewer quality of experience, aggregated per stream from player beacons (`POST /live/{id}/qoe`).
 *
 * A sliding window of the last 5 minutes in 10 s buckets: each beacon batch lands in the bucket of the time it
 * arrived (the server's clock, so a viewer's wrong clock cannot move it), and buckets older than the window are
 * dropped on every change. Only numbers and allow-listed error codes are kept; the viewer session id is an
 * opaque random token used to count distinct sessions and never leaves this module.
 * Pure: every function takes `now` (epoch ms) and returns a new value.
 */

/** Error codes a beacon may carry; anything else is refused by the route's schema (src/api/qoe.ts). */
export const QOE_ERROR_CODES = [
  'network',
  'media',
  'manifest',
  'fragment',
  'decode',
  'buffer-stall',
  'key',
  'mux',
  'other',
] as const;
export type QoeErrorCode = (typeof QOE_ERROR_CODES)[number];

export type QoeEvent =
  /** Page open (or source attach) to first frame, ms. */
  | { type: 'startup'; ms: number }
  /** One stall after first frame, from `waiting` to `playing`, ms. */
  | { type: 'rebuffer'; ms: number }
  /** Time spent playing since the last batch, ms: the denominator of the rebuffer ratio. */
  | { type: 'playing'; ms: number }
  /** Now minus the program-date-time of the frame on screen, seconds. */
  | { type: 'latency'; s: number }
  | { type: 'error'; code: QoeErrorCode; fatal: boolean }
  /** The rendition being played, by its advertised BANDWIDTH (bits/s) and height. */
  | { type: 'rendition'; bitrate: number; height?: number };

export interface QoeBatch {
  /** Random per-page token, [A-Za-z0-9_-]{8,40}. */
  session: string;
  events: QoeEvent[];
}

export const QOE_BUCKET_MS = 10_000;
export const QOE_WINDOW_MS = 5 * 60_000;
/** Samples kept per bucket and metric: bounds memory whatever the audience (a sample, not a census). */
const MAX_SAMPLES = 256;
const MAX_SESSIONS = 1024;

interface Bucket {
  /** Epoch ms of the bucket's start, a multiple of QOE_BUCKET_MS. */
  start: number;
  sessions: string[];
  startupMs: number[];
  latencyS: number[];
  rebuffers: number;
  rebufferMs: number;
  playingMs: number;
  errors: Partial<Record<QoeErrorCode, number>>;
  fatalErrors: number;
  /** Rendition bitrate (bits/s, as text) -> reports. */
  renditions: Record<string, number>;
}

export interface QoeWindow {
  buckets: Bucket[];
}

export function emptyQoe(): QoeWindow {
  return { buckets: [] };
}

function newBucket(start: number): Bucket {
  return {
    start,
    sessions: [],
    startupMs: [],
    latencyS: [],
    rebuffers: 0,
    rebufferMs: 0,
    playingMs: 0,
    errors: {},
    fatalErrors: 0,
    renditions: {},
  };
}

function prune(window: QoeWindow, now: number): Bucket[] {
  return window.buckets.filter((b) => b.start > now - QOE_WINDOW_MS);
}

function pushBounded(list: number[], value: number): void {
  if (list.length < MAX_SAMPLES) list.push(value);
}

/** Adds one batch at `now`. */
export function recordQoe(window: QoeWindow, batch: QoeBatch, now: number): QoeWindow {
  const buckets = prune(window, now);
  const start = Math.floor(now / QOE_BUCKET_MS) * QOE_BUCKET_MS;
  const last = buckets.at(-1);
  const current: Bucket = last && last.start === start ? structuredClone(last) : newBucket(start);
  if (!current.sessions.includes(batch.session) && current.sessions.length < MAX_SESSIONS) {
    current.sessions.push(batch.session);
  }
  for (const ev of batch.events) {
    switch (ev.type) {
      case 'startup':
        pushBounded(current.startupMs, ev.ms);
        break;
      case 'rebuffer':
        current.rebuffers++;
        current.rebufferMs += ev.ms;
        break;
      case 'playing':
        current.playingMs += ev.ms;
        break;
      case 'latency':
        pushBounded(current.latencyS, ev.s);
        break;
      case 'error':
        current.errors[ev.code] = (current.errors[ev.code] ?? 0) + 1;
        if (ev.fatal) current.fatalErrors++;
        break;
      case 'rendition': {
        const key = String(Math.round(ev.bitrate));
        current.renditions[key] = (current.renditions[key] ?? 0) + 1;
        break;
      }
    }
  }
  const kept = last && last.start === start ? buckets.slice(0, -1) : buckets;
  return { buckets: [...kept, current] };
}

/** Nearest-rank percentiles of a sample and its size. */
export interface Spread {
  p50: number;
  p90: number;
  p95: number;
  count: number;
}

export interface QoeSummary {
  /** Window length, seconds. */
  windowSeconds: number;
  /** Distinct viewer sessions that sent a beacon in the window. */
  sessions: number;
  startupMs: Spread | null;
  latencySeconds: Spread | null;
  rebuffers: number;
  rebufferMs: number;
  /** Stalled time over stalled plus playing time, 0-1; null before any playing time is reported. */
  rebufferRatio: number | null;
  errors: Partial<Record<QoeErrorCode, number>>;
  fatalErrors: number;
  /** Rendition bitrate (bits/s) -> reports, most reported first. */
  renditions: { bitrate: number; reports: number }[];
  /** Per-bucket series for charts, oldest first: bucket start (epoch ms), latency p50 (s), rebuffers. */
  series: { at: number; sessions: number; latencyP50: number | null; rebuffers: number }[];
}

/** Nearest-rank quantile of an ascending list. */
export function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p95: quantile(sorted, 0.95),
    count: sorted.length,
  };
}

/**
 * Viewers' latency over the last `spanMs` (whole buckets: beacons arrive every 10 s per viewer), or null unless
 * the samples cover that span: some in the oldest bucket of it and some in the newest two, so a minute's p50
 * is not one early beacon's.
 */
export function recentLatency(window: QoeWindow, now: number, spanMs: number): Spread | null {
  const from = now - spanMs;
  const recent = window.buckets.filter((b) => b.start + QOE_BUCKET_MS > from && b.latencyS.length > 0);
  const first = recent[0];
  const last = recent.at(-1);
  if (!first || !last || first.start > from + QOE_BUCKET_MS || last.start < now - 2 * QOE_BUCKET_MS)
    return null;
  return spread(recent.flatMap((b) => b.latencyS));
}

export function summarizeQoe(window: QoeWindow, now: number): QoeSummary {
  const buckets = prune(window, now);
  const sessions = new Set<string>();
  const startup: number[] = [];
  const latency: number[] = [];
  const errors: Partial<Record<QoeErrorCode, number>> = {};
  const renditions = new Map<string, number>();
  let rebuffers = 0;
  let rebufferMs = 0;
  let playingMs = 0;
  let fatalErrors = 0;
  for (const b of buckets) {
    for (const s of b.sessions) sessions.add(s);
    startup.push(...b.startupMs);
    latency.push(...b.latencyS);
    rebuffers += b.rebuffers;
    rebufferMs += b.rebufferMs;
    playingMs += b.playingMs;
    fatalErrors += b.fatalErrors;
    for (const [code, n] of Object.entries(b.errors) as [QoeErrorCode, number][]) {
      errors[code] = (errors[code] ?? 0) + n;
    }
    for (const [k, n] of Object.entries(b.renditions)) renditions.set(k, (renditions.get(k) ?? 0) + n);
  }
  const watched = rebufferMs + playingMs;
  return {
    windowSeconds: QOE_WINDOW_MS / 1000,
    sessions: sessions.size,
    startupMs: spread(startup),
    latencySeconds: spread(latency),
    rebuffers,
    rebufferMs: Math.round(rebufferMs),
    rebufferRatio: watched > 0 ? Math.round((rebufferMs / watched) * 10_000) / 10_000 : null,
    errors,
    fatalErrors,
    renditions: [...renditions]
      .map(([bitrate, reports]) => ({ bitrate: Number(bitrate), reports }))
      .sort((a, b) => b.reports - a.reports),
    series: buckets.map((b) => ({
      at: b.start,
      sessions: b.sessions.length,
      latencyP50: spread(b.latencyS)?.p50 ?? null,
      rebuffers: b.rebuffers,
    })),
  };
}
