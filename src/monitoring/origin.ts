/**
 * Origin counters: viewer requests per stream, counted in the Worker isolate and handed to the stream's object
 * in batches. A Durable Object takes about a thousand requests a second (DESIGN.md, Scale), so a viewer request
 * never costs it a call of its own: counts accumulate in module memory (stream-tally.ts) and at most one flush
 * per stream leaves an isolate every FLUSH_MS, through `waitUntil` (never awaited by the viewer's response).
 */
import { StreamTally } from './stream-tally.ts';

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

export { FLUSH_MS } from './stream-tally.ts';

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

/** Per-isolate accumulator of viewer requests by stream (`take` hands over what is due, stream-tally.ts). */
export class OriginTally extends StreamTally<OriginCounts> {
  constructor(now: number) {
    super(addOriginCounts, now);
  }

  count(streamId: string, kind: OriginRequestKind, cacheHit: boolean): void {
    const media = kind === 'media' ? 1 : 0;
    this.add(streamId, {
      playlists: 1 - media,
      blockingPlaylists: kind === 'blocking-playlist' ? 1 : 0,
      media,
      cacheHits: media && cacheHit ? 1 : 0,
    });
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
