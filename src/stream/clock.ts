/**
 * The stream object's clock, injectable (issue 11): the object reads time only through it, so workerd tests
 * move time forward (`StreamDO.advanceClock`, allowed only with the TEST_CLOCK binding) instead of sleeping.
 */
export interface Clock {
  /** Epoch ms. */
  now(): number;
}

/** The system clock plus an offset that only ever grows (a test's steps forward). */
export class SteppedClock implements Clock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance by ${ms} ms: time only moves forward`);
    this.#offset += ms;
  }
}
