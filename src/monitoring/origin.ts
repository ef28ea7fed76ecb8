/**
 * Origin counters: viewer requests per stream, counted in the Worker isolate and handed to the stream's object
 * in batches. A Durable Object takes about a thousand requests a second (DESIGN.md, Scale), so a viewer request
 * never costs it a call of its own: counts accumulate in module memory and at most one flush per stream leaves
 * an isolate every FLUSH_MS, through `waitUntil` (never awaited by the viewer's response).
 */

export interface OriginCounts {
  /** Media playlist requests (blocking or not). */
  playlists: number;
  /** Of which blocking (`_HLS_msn` present, RFC 8216bis 6.2.5.2). */
  blockingPlaylists: number;
  /** Init, part and segment requests. */
  media: number;
  /** Media requests answered from the Cache API without R2 or the object. */
  cacheHits: number;
}

export type OriginRequestKind = 'playlist' | 'blocking-playlist' | 'media';

export const FLUSH_MS = 5_000;
/** Streams tracked per isolate before a flush is forced: bounds memory under a scan of random ids. */
const MAX_STREAMS = 1_000;

export function emptyOriginCounts(): OriginCounts {
  return { playlists: 0, blockingPlaylists: 0, media: 0, cacheHits: 0 };
}

export function addOriginCounts(a: OriginCounts, b: OriginCounts): OriginCounts {
  return {
    playlists: a.playlists + b.playlists,
    blockingPlaylists: a.blockingPlaylists + b.blockingPlaylists,
    media: a.media + b.media,
    cacheHits: a.cacheHits + b.cacheHits,
  };
}

/** Per-isolate accumulator. `take` hands over what is due and starts afresh. */
export class OriginTally {
  #counts = new Map<string, OriginCounts>();
  #lastFlush: number;

  constructor(now: number) {
    this.#lastFlush = now;
  }

  count(streamId: string, kind: OriginRequestKind, cacheHit: boolean): void {
    let c = this.#counts.get(streamId);
    if (!c) {
      c = emptyOriginCounts();
      this.#counts.set(streamId, c);
    }
    if (kind === 'media') {
      c.media++;
      if (cacheHit) c.cacheHits++;
    } else {
      c.playlists++;
      if (kind === 'blocking-playlist') c.blockingPlaylists++;
    }
  }

  /** The counts to flush when FLUSH_MS passed since the last flush (or too many streams are held), else null. */
  take(now: number): Map<string, OriginCounts> | null {
    if (this.#counts.size === 0) return null;
    if (now - this.#lastFlush < FLUSH_MS && this.#counts.size < MAX_STREAMS) return null;
    const due = this.#counts;
    this.#counts = new Map();
    this.#lastFlush = now;
    return due;
  }
}

interface OriginSink {
  recordOrigin(counts: OriginCounts, now: number): Promise<unknown>;
}

/**
 * The isolate's clock for the tally, injectable (issue 11): workerd tests share this module with the Worker
 * they drive, so they step it instead of sleeping FLUSH_MS.
 */
export const originClock: { now: () => number } = { now: () => Date.now() };

let tally: OriginTally | null = null;

/**
 * Counts one viewer request and, when a flush is due, sends the batch to each stream's object in the
 * background. `stub` maps a stream id to its object; `waitUntil` keeps the flush alive after the response.
 */
export function noteOriginRequest(
  streamId: string,
  kind: OriginRequestKind,
  cacheHit: boolean,
  stub: (streamId: string) => OriginSink,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  const now = originClock.now();
  tally ??= new OriginTally(now);
  tally.count(streamId, kind, cacheHit);
  const due = tally.take(now);
  if (!due) return;
  const calls = [...due].map(([id, counts]) => stub(id).recordOrigin(counts, now));
  waitUntil(Promise.allSettled(calls));
}
