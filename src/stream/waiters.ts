/**
 * Requests held until media exists: blocking playlist reloads (RFC 8216bis 6.2.5.2) and preload-hint part
 * requests. Each waiter carries a check of what it needs and a deadline (epoch ms); `settle` wakes those whose need is now
 * met, `expire(now)` wakes the overdue ones. Time is an argument: the Durable Object drives one timer from
 * `nextDeadline()`, tests step time by hand.
 */

export type WaitOutcome = 'ready' | 'timeout' | 'cancelled';

interface Waiter {
  rendition: string;
  /** Checked on every settle of its rendition: true once what the request needs exists. */
  isMet: () => boolean;
  deadline: number;
  resolve: (outcome: WaitOutcome) => void;
}

export class WaiterList {
  private readonly waiters = new Set<Waiter>();

  get size(): number {
    return this.waiters.size;
  }

  wait(rendition: string, isMet: () => boolean, deadline: number): Promise<WaitOutcome> {
    return new Promise((resolve) => {
      this.waiters.add({ rendition, isMet, deadline, resolve });
    });
  }

  /** Wakes every waiter on `rendition` (all renditions when null) whose need is now met. Returns how many woke. */
  settle(rendition: string | null): number {
    let woken = 0;
    for (const w of this.waiters) {
      if ((rendition !== null && w.rendition !== rendition) || !w.isMet()) continue;
      this.waiters.delete(w);
      w.resolve('ready');
      woken++;
    }
    return woken;
  }

  /** Wakes every waiter whose deadline has passed with `timeout`. */
  expire(now: number): number {
    let expired = 0;
    for (const w of this.waiters) {
      if (w.deadline > now) continue;
      this.waiters.delete(w);
      w.resolve('timeout');
      expired++;
    }
    return expired;
  }

  nextDeadline(): number | null {
    let next: number | null = null;
    for (const w of this.waiters) if (next === null || w.deadline < next) next = w.deadline;
    return next;
  }

  /** Wakes everyone with `outcome` (stream ended or destroyed). */
  releaseAll(outcome: WaitOutcome): void {
    for (const w of this.waiters) w.resolve(outcome);
    this.waiters.clear();
  }
}

/**
 * The waiter list with its one timer, set to the earliest deadline: time comes from `clock` (clock.ts), the
 * timer from `setTimeout`, so a test that steps the clock calls `expireDue` instead of waiting.
 */
export class HeldRequests {
  readonly #list = new WaiterList();
  readonly #clock: { now(): number };
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(clock: { now(): number }) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#list.size;
  }

  /** Holds a request for `rendition` until `isMet` or `timeoutMs` passes. */
  hold(rendition: string, isMet: () => boolean, timeoutMs: number): Promise<WaitOutcome> {
    const outcome = this.#list.wait(rendition, isMet, this.#clock.now() + timeoutMs);
    this.#arm();
    return outcome;
  }

  /** Wakes the waiters whose need is met (every rendition). */
  settle(): void {
    this.#list.settle(null);
  }

  /** Times out the waiters whose deadline passed by the clock, and re-arms the timer. */
  expireDue(): void {
    this.#list.expire(this.#clock.now());
    this.#arm();
  }

  releaseAll(outcome: WaitOutcome): void {
    this.#list.releaseAll(outcome);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const next = this.#list.nextDeadline();
    if (next === null) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.expireDue();
      },
      Math.max(0, next - this.#clock.now()),
    );
  }
}
