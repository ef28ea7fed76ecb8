/**
 * A per-isolate cache of credential lookups (API keys, relay credentials) with a hard age bound: a revoked
 * credential keeps working in an isolate for at most `ttlMs` after its revocation, and no request costs a
 * registry call while its entry is fresh. Only hits are cached, so a key made a moment ago works at once.
 * Time is an argument (`now`, epoch ms), so tests step it.
 */
export class LookupCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, maxEntries = 1000) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, now: number): void {
    // Map iteration is insertion order: the first entry is the oldest.
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, until: now + this.#ttlMs });
  }

  /** Drops entries at once (a revocation made in this isolate needs no wait here). */
  evict(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }
}

/** Revocation bound of issue 16 is 10 s; half of it leaves room for clock and propagation slack. */
export const CREDENTIAL_CACHE_MS = 5_000;
