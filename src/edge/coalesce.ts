/**
 * Identical requests in flight in one isolate share one upstream call (DESIGN.md, Scale: a crowd blocked on
 * the same part costs its replica one call per isolate). An entry lives until its call settles; the call is
 * kept alive with `waitUntil`, since the viewer who started it may leave while others still wait on it.
 */
export class Coalescer<T> {
  readonly #inflight = new Map<string, Promise<T>>();
  /** Requests that asked, and upstream calls made (tests compare the two). */
  requests = 0;
  calls = 0;

  run(key: string, call: () => Promise<T>, waitUntil: (p: Promise<unknown>) => void): Promise<T> {
    this.requests++;
    let entry = this.#inflight.get(key);
    if (!entry) {
      this.calls++;
      entry = call().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, entry);
      waitUntil(entry.catch(() => undefined));
    }
    return entry;
  }
}
