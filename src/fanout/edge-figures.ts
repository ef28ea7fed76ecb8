/**
 * A replica's view of its isolates' figures (src/edge/viewers.ts reports): viewers now, and edge-cache lookups
 * and hits over the last RATE_WINDOW_MS. It answers them to the stream object with each push (feed.ts
 * `ReplicaAck`). Time is an argument (epoch ms).
 */
import type { EdgeReport } from '../edge/viewers.ts';
import { EDGE_REPORT_MS } from '../edge/viewers.ts';
import { RATE_WINDOW_MS } from './rate.ts';

/** An isolate's viewer count stands until it is this old (it reports at most every EDGE_REPORT_MS). */
const VIEWERS_FRESH_MS = 3 * EDGE_REPORT_MS;
/** Isolates remembered: bounds memory if many isolates report once and vanish. */
const MAX_ISOLATES = 10_000;

export class EdgeFigures {
  readonly #latest = new Map<string, EdgeReport>();
  #recent: { at: number; lookups: number; hits: number }[] = [];

  /** `now`: the replica's clock when the report arrived (isolate clocks may differ from it). */
  add(report: EdgeReport, now: number): void {
    this.#latest.delete(report.isolateId);
    this.#latest.set(report.isolateId, { ...report, at: now });
    if (this.#latest.size > MAX_ISOLATES) {
      const oldest = this.#latest.keys().next().value;
      if (oldest !== undefined) this.#latest.delete(oldest);
    }
    this.#recent.push({ at: now, lookups: report.cacheLookups, hits: report.cacheHits });
  }

  viewers(now: number): number {
    let sum = 0;
    for (const [id, r] of this.#latest) {
      if (now - r.at <= VIEWERS_FRESH_MS) sum += r.viewers;
      else this.#latest.delete(id);
    }
    return sum;
  }

  cache(now: number): { lookups: number; hits: number } {
    this.#recent = this.#recent.filter((r) => now - r.at <= RATE_WINDOW_MS);
    let lookups = 0;
    let hits = 0;
    for (const r of this.#recent) {
      lookups += r.lookups;
      hits += r.hits;
    }
    return { lookups, hits };
  }
}
