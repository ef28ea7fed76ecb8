/**
 * Request rates for the delivery figures (health `delivery`, /v1/metrics): events counted in one-second
 * buckets, the rate averaged over the last RATE_WINDOW_MS. Time is an argument (epoch ms). Pure data.
 */

export const RATE_WINDOW_MS = 10_000;
const BUCKET_MS = 1_000;
const BUCKETS = RATE_WINDOW_MS / BUCKET_MS;

export class RateMeter {
  /** Count per bucket, indexed by bucket number modulo BUCKETS; `#stamp` says which bucket a slot holds. */
  readonly #counts = new Float64Array(BUCKETS);
  readonly #stamp = new Float64Array(BUCKETS).fill(-1);
  #total = 0;

  note(now: number, n = 1): void {
    const bucket = Math.floor(now / BUCKET_MS);
    const slot = bucket % BUCKETS;
    if (this.#stamp[slot] !== bucket) {
      this.#stamp[slot] = bucket;
      this.#counts[slot] = 0;
    }
    this.#counts[slot] = (this.#counts[slot] ?? 0) + n;
    this.#total += n;
  }

  /** Events a second over the last RATE_WINDOW_MS (the current, partial second included). */
  perSecond(now: number): number {
    const newest = Math.floor(now / BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const stamp = this.#stamp[i] ?? -1;
      if (stamp > newest - BUCKETS && stamp <= newest) sum += this.#counts[i] ?? 0;
    }
    return sum / (RATE_WINDOW_MS / 1000);
  }

  /** Every event ever noted (a Prometheus counter). */
  get total(): number {
    return this.#total;
  }
}
