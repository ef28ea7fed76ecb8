/**
 * Origin counters on their way up (src/monitoring/origin.ts): isolates flush their batches to their region's
 * replica instead of the stream object, and each replica forwards the sum at most once per FLUSH_MS. The
 * stream object thus gets one call per replica every five seconds, not one per isolate.
 */
import { addOriginCounts, FLUSH_MS, type OriginCounts } from '../monitoring/origin.ts';

export class OriginForward {
  readonly #send: (counts: OriginCounts) => Promise<unknown>;
  #pending: OriginCounts | null = null;
  #lastSent = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(send: (counts: OriginCounts) => Promise<unknown>) {
    this.#send = send;
  }

  /** Adds an isolate's batch; sends now if FLUSH_MS passed since the last send, else when it has. */
  add(counts: OriginCounts, now: number): Promise<void> {
    this.#pending = this.#pending ? addOriginCounts(this.#pending, counts) : counts;
    const wait = this.#lastSent + FLUSH_MS - now;
    if (wait <= 0) return this.#flush(now);
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      void this.#flush(this.#lastSent + FLUSH_MS);
    }, wait);
    return Promise.resolve();
  }

  async #flush(now: number): Promise<void> {
    const counts = this.#pending;
    if (!counts) return;
    this.#pending = null;
    this.#lastSent = now;
    try {
      await this.#send(counts);
    } catch (err) {
      console.warn('origin counts not forwarded', String(err));
    }
  }
}
