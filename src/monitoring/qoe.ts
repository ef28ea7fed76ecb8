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

/**
 * What beacons add to one bucket, apart from its time: a batch, or the sum of many. Isolates and replicas sum
 * the beacons they take (src/fanout/batched-forward.ts) and pass one digest up every few seconds, so the
 * stream object gets a call per replica, not per viewer (DESIGN.md, Scale). Sessions and samples stay bounded
 * as they are summed.
 */
export type QoeDigest = Omit<Bucket, 'start'>;

function emptyDigest(): QoeDigest {
  const { start: _, ...digest } = newBucket(0);
  return digest;
}

/** One batch as a digest. */
export function digestQoe(batch: QoeBatch): QoeDigest {
  const d = emptyDigest();
  d.sessions.push(batch.session);
  for (const ev of batch.events) {
    switch (ev.type) {
      case 'startup':
        pushBounded(d.startupMs, ev.ms);
        break;
      case 'rebuffer':
        d.rebuffers++;
        d.rebufferMs += ev.ms;
        break;
      case 'playing':
        d.playingMs += ev.ms;
        break;
      case 'latency':
        pushBounded(d.latencyS, ev.s);
        break;
      case 'error':
        d.errors[ev.code] = (d.errors[ev.code] ?? 0) + 1;
        if (ev.fatal) d.fatalErrors++;
        break;
      case 'rendition': {
        const key = String(Math.round(ev.bitrate));
        d.renditions[key] = (d.renditions[key] ?? 0) + 1;
        break;
      }
    }
  }
  return d;
}

function sumCounts<T extends Partial<Record<string, number>>>(a: T, b: T): T {
  const out: Partial<Record<string, number>> = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + (n ?? 0);
  return out as T;
}

function joinBounded<T>(a: readonly T[], b: readonly T[], max: number, distinct = false): T[] {
  const out = [...a];
  for (const v of b) {
    if (out.length >= max) break;
    if (!distinct || !out.includes(v)) out.push(v);
  }
  return out;
}

/** Two digests as one (a new value; neither argument changes). */
export function addQoeDigests(a: QoeDigest, b: QoeDigest): QoeDigest {
  return {
    sessions: joinBounded(a.sessions, b.sessions, MAX_SESSIONS, true),
    startupMs: joinBounded(a.startupMs, b.startupMs, MAX_SAMPLES),
    latencyS: joinBounded(a.latencyS, b.latencyS, MAX_SAMPLES),
    rebuffers: a.rebuffers + b.rebuffers,
    rebufferMs: a.rebufferMs + b.rebufferMs,
    playingMs: a.playingMs + b.playingMs,
    errors: sumCounts(a.errors, b.errors),
    fatalErrors: a.fatalErrors + b.fatalErrors,
    renditions: sumCounts(a.renditions, b.renditions),
  };
}

/**
 * Adds a digest at `now`, into the bucket of its arrival: a digest summed on the way up lands up to two flush
 * intervals (10 s) after its beacons did, one bucket late at most.
 */
export function recordQoeDigest(window: QoeWindow, digest: QoeDigest, now: number): QoeWindow {
  const buckets = prune(window, now);
  const start = Math.floor(now / QOE_BUCKET_MS) * QOE_BUCKET_MS;
  const last = buckets.at(-1);
  const same = last !== undefined && last.start === start;
  const { start: _, ...into } = same ? last : newBucket(start);
  const current: Bucket = { start, ...addQoeDigests(into, digest) };
  return { buckets: [...(same ? buckets.slice(0, -1) : buckets), current] };
}

/** Adds one batch at `now`. */
export function recordQoe(window: QoeWindow, batch: QoeBatch, now: number): QoeWindow {
  return recordQoeDigest(window, digestQoe(batch), now);
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
