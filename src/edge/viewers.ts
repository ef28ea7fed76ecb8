/**
 * Viewers and edge-cache figures, counted in the isolate before the cache, where every viewer request passes
 * (issue 13). A viewer is a distinct client, a hash of IP and User-Agent, seen within two segment targets. An
 * LL-HLS player asks at least once a part, but a player without low-latency support (ffmpeg, an older hls.js,
 * a TV) reloads the playlist once a target duration (RFC 8216bis 6.3.4), and a player whose requests queue
 * behind a slow link asks less often than once a part: two part targets counted them a third of the time.
 * Two segment targets hold every playing client and drop one that stopped within seconds. The figures ride
 * to the region's replica on the isolate's next replica call (at most one report per stream every
 * EDGE_REPORT_MS), and from the replicas to the stream object in their push answers: no viewer request ever
 * costs a call of its own. A client that several isolates serve counts in each: the sum is an upper bound.
 * Time is an argument (epoch ms).
 */
import { DEFAULT_STREAM_CONFIG } from '../contract/stream-config.ts';
import { fnv1a } from '../fanout/shards.ts';

export interface EdgeReport {
  /** The reporting isolate (src/fanout/route.ts). */
  isolateId: string;
  /** Distinct clients seen within the viewer window when the report was made. */
  viewers: number;
  /** Viewer requests since the last report. */
  requests: number;
  /** Edge-cache lookups (blocking playlists, parts) since the last report, and the hits among them. */
  cacheLookups: number;
  cacheHits: number;
  /** Epoch ms. */
  at: number;
}

export const EDGE_REPORT_MS = 2_000;
/** A report no replica call carried for this long is sent on its own (an isolate serving only cache hits). */
export const EDGE_REPORT_OVERDUE_MS = 5 * EDGE_REPORT_MS;
/** Clients remembered per stream per isolate: bounds memory under a flood of made-up User-Agents. */
const MAX_CLIENTS = 50_000;

interface StreamTally {
  clients: Map<number, number>;
  requests: number;
  cacheLookups: number;
  cacheHits: number;
  lastReport: number;
  /** Milliseconds a client stays a viewer: two segment targets once the stream's segment target is known. */
  windowMs: number;
}

/** Segment target assumed until a stream's first answer says (the contract's default). */
const DEFAULT_WINDOW_MS = 2 * DEFAULT_STREAM_CONFIG.segmentTarget * 1000;

export function clientHash(ip: string, userAgent: string): number {
  return fnv1a(`${ip}\u0000${userAgent}`);
}

/** Per key: a stream as one isolate sees it (src/api/viewer-calls.ts keys by isolate and stream). */
export class EdgeTally {
  readonly #streams = new Map<string, StreamTally>();

  #of(key: string, now: number): StreamTally {
    let t = this.#streams.get(key);
    if (!t) {
      t = {
        clients: new Map(),
        requests: 0,
        cacheLookups: 0,
        cacheHits: 0,
        lastReport: now,
        windowMs: DEFAULT_WINDOW_MS,
      };
      this.#streams.set(key, t);
    }
    return t;
  }

  /** One viewer request of `client` (clientHash). */
  request(key: string, client: number, now: number): void {
    const t = this.#of(key, now);
    t.requests++;
    if (t.clients.size >= MAX_CLIENTS && !t.clients.has(client)) prune(t, now);
    if (t.clients.size < MAX_CLIENTS || t.clients.has(client)) t.clients.set(client, now);
  }

  cacheLookup(key: string, hit: boolean, now: number): void {
    const t = this.#of(key, now);
    t.cacheLookups++;
    if (hit) t.cacheHits++;
  }

  /** The stream's segment target (seconds), from an answer: the viewer window is two of them. */
  segmentTarget(key: string, seconds: number, now: number): void {
    if (seconds > 0) this.#of(key, now).windowMs = 2 * seconds * 1000;
  }

  /** A report is due and no replica call has carried one for EDGE_REPORT_OVERDUE_MS. */
  overdue(key: string, now: number): boolean {
    const t = this.#streams.get(key);
    return t !== undefined && now - t.lastReport >= EDGE_REPORT_OVERDUE_MS;
  }

  /** The report due for `key` (EDGE_REPORT_MS since the last), or null; counts start afresh after one. */
  take(key: string, isolateId: string, now: number): EdgeReport | null {
    const t = this.#streams.get(key);
    if (!t || now - t.lastReport < EDGE_REPORT_MS) return null;
    prune(t, now);
    const report = {
      isolateId,
      viewers: t.clients.size,
      requests: t.requests,
      cacheLookups: t.cacheLookups,
      cacheHits: t.cacheHits,
      at: now,
    };
    Object.assign(t, { requests: 0, cacheLookups: 0, cacheHits: 0, lastReport: now });
    if (t.clients.size === 0) this.#streams.delete(key);
    return report;
  }
}

function prune(t: StreamTally, now: number): void {
  for (const [client, seen] of t.clients) if (now - seen > t.windowMs) t.clients.delete(client);
}
