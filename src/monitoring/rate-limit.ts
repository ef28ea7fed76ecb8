/**
 * A token bucket per key (RFC 2697-style single rate: `burst` tokens, refilled at `perSecond`), held in one
 * isolate's memory. Not a global limit: each isolate limits what reaches it, which is what protects the
 * stream's object from a beacon flood. Pure in time: callers pass `now` (epoch ms).
 */
export interface TokenBucketOptions {
  burst: number;
  perSecond: number;
  /** Keys tracked; the oldest is forgotten beyond this (a forgotten key starts with a full bucket). */
  maxKeys: number;
}

export class TokenBuckets {
  readonly #opts: TokenBucketOptions;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: TokenBucketOptions) {
    this.#opts = opts;
  }

  /** True when `key` may proceed (one token taken). */
  take(key: string, now: number): boolean {
    const { burst, perSecond, maxKeys } = this.#opts;
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now };
    const tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * perSecond);
    const allowed = tokens >= 1;
    // Re-insert so the Map's order is least-recently-used first.
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    if (this.#buckets.size > maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    return allowed;
  }
}
