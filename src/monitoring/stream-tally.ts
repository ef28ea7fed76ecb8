/**
 * Per-isolate sums of viewer figures, per stream, handed up in batches: a Durable Object takes about a thousand
 * requests a second (DESIGN.md, Scale), so no viewer request costs it a call of its own. Values accumulate in
 * module memory and at most one flush per stream leaves an isolate every FLUSH_MS.
 */

export const FLUSH_MS = 5_000;
/** Streams tracked per isolate before a flush is forced: bounds memory under a scan of random ids. */
const MAX_STREAMS = 1_000;

export class StreamTally<T> {
  readonly #sum: (a: T, b: T) => T;
  #values = new Map<string, T>();
  #lastFlush: number;

  constructor(sum: (a: T, b: T) => T, now: number) {
    this.#sum = sum;
    this.#lastFlush = now;
  }

  add(streamId: string, value: T): void {
    const held = this.#values.get(streamId);
    this.#values.set(streamId, held === undefined ? value : this.#sum(held, value));
  }

  /** What to flush when FLUSH_MS passed since the last flush (or too many streams are held), else null. */
  take(now: number): Map<string, T> | null {
    if (this.#values.size === 0) return null;
    if (now - this.#lastFlush < FLUSH_MS && this.#values.size < MAX_STREAMS) return null;
    const due = this.#values;
    this.#values = new Map();
    this.#lastFlush = now;
    return due;
  }
}
