/**
 * A replica's calls to its stream object for the current view, coalesced: `after(t)` resolves once a call that
 * started at or after `t` has finished, so a request that arrived at `t` is answered from a view at least as
 * new as the stream object's at `t` (never a refusal only because the replica was behind), while however many
 * requests ask at once, at most one call is in flight, one more waits, and calls start at least
 * MIN_INTERVAL_MS apart. A replica flooded with requests too far ahead thus costs its stream object at most
 * 1000 / MIN_INTERVAL_MS calls a second.
 */

export const MIN_CATCH_UP_INTERVAL_MS = 50;

export class CatchUp {
  readonly #fetch: () => Promise<void>;
  readonly #now: () => number;
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  #lastStart = Number.NEGATIVE_INFINITY;
  /** Calls made (a replica's catch-ups, for tests and health). */
  calls = 0;

  /** `fetch` gets the view and applies it; `now` is the replica's clock (epoch ms). */
  constructor(fetch: () => Promise<void>, now: () => number) {
    this.#fetch = fetch;
    this.#now = now;
  }

  get inFlight(): boolean {
    return this.#running !== null;
  }

  /** Resolves once a call that started at or after `since` finished (rejects if that call failed). */
  after(since: number): Promise<void> {
    if (this.#lastStart >= since) return this.#running ?? Promise.resolve();
    this.#queued ??= this.#nextStart();
    return this.#queued;
  }

  async #nextStart(): Promise<void> {
    // Wait for the call in flight (it started before `since`), then the rest of the minimum interval.
    await this.#running?.catch(() => undefined);
    const wait = this.#lastStart + MIN_CATCH_UP_INTERVAL_MS - this.#now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.#queued = null;
    this.#lastStart = this.#now();
    this.calls++;
    const call = this.#fetch().finally(() => {
      if (this.#running === call) this.#running = null;
    });
    this.#running = call;
    return call;
  }
}
