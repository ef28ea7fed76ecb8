/**
 * Viewer figures on their way up the tree: origin counters (src/monitoring/origin.ts) and QoE beacons
 * (src/monitoring/qoe.ts). Isolates flush their sums to their region's replica instead of the stream object,
 * and each replica forwards its own sum at most once per FLUSH_MS. The stream object thus gets one call per
 * replica and kind every five seconds, not one per isolate or viewer.
 */
import { FLUSH_MS } from '../monitoring/stream-tally.ts';

export class BatchedForward<T> {
  readonly #sum: (a: T, b: T) => T;
  readonly #send: (value: T) => Promise<unknown>;
  readonly #what: string;
  #pending: T | null = null;
  #lastSent = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** `what` names the figures in the one warning a failed send logs. */
  constructor(what: string, sum: (a: T, b: T) => T, send: (value: T) => Promise<unknown>) {
    this.#what = what;
    this.#sum = sum;
    this.#send = send;
  }

  /** Adds a batch; sends now if FLUSH_MS passed since the last send, else when it has. */
  add(value: T, now: number): Promise<void> {
    this.#pending = this.#pending === null ? value : this.#sum(this.#pending, value);
    const wait = this.#lastSent + FLUSH_MS - now;
    if (wait <= 0) return this.#flush(now);
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      void this.#flush(this.#lastSent + FLUSH_MS);
    }, wait);
    return Promise.resolve();
  }

  async #flush(now: number): Promise<void> {
    const value = this.#pending;
    if (value === null) return;
    this.#pending = null;
    this.#lastSent = now;
    try {
      await this.#send(value);
    } catch (err) {
      console.warn(`${this.#what} not forwarded`, String(err));
    }
  }
}
