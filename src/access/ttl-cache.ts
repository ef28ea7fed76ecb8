/**
 * A per-isolate cache of registry answers with a hard age bound: what makes a revocation reach every edge
 * within that bound while a viewer request never waits on the registry more than once per bound, per isolate
 * and key. Concurrent misses share one load (a crowd tuning in costs one call). A failed load is not kept: the
 * next request tries again. Time is an argument (epoch ms), so tests step it.
 */
export interface TtlCacheOptions {
  /** Age after which an answer is loaded again, ms, counted from when its load began. */
  maxAgeMs: number;
  /** Entries kept; the oldest-inserted goes first beyond it (bounds memory under junk keys). */
  maxEntries: number;
}

interface Entry<V> {
  loadedAt: number;
  value: Promise<V>;
}

export class TtlCache<V> {
  readonly #options: TtlCacheOptions;
  readonly #entries = new Map<string, Entry<V>>();

  constructor(options: TtlCacheOptions) {
    this.#options = options;
  }

  /** The cached answer for `key`, or `load()`'s when there is none younger than `maxAgeMs`. */
  get(key: string, now: number, load: () => Promise<V>): Promise<V> {
    const entry = this.#entries.get(key);
    if (entry && now - entry.loadedAt < this.#options.maxAgeMs) return entry.value;
    this.#entries.delete(key);
    const value = load();
    const fresh: Entry<V> = { loadedAt: now, value };
    this.#entries.set(key, fresh);
    value.catch(() => {
      if (this.#entries.get(key) === fresh) this.#entries.delete(key);
    });
    if (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return value;
  }

  /** Forgets `key` (the isolate that made a change sees it at once; others within `maxAgeMs`). */
  invalidate(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
