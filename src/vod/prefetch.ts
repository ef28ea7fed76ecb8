/**
 * R2 gets of a run's parts in order, a few ahead of the one being streamed: one get per 0.2 s part would
 * otherwise put a round trip (tens of ms) between every part, and a 6-hour run has 100,000 of them. The
 * depth stays under the six connections a Worker invocation may hold open at once; a body that is not read
 * yet holds only what its stream buffers, never a whole part set.
 */
export const PREFETCH_DEPTH = 3;

export class PartPrefetch {
  private readonly bucket: R2Bucket;
  private readonly keys: readonly string[];
  private readonly inFlight: Promise<R2ObjectBody | null>[] = [];
  private next = 0;

  constructor(bucket: R2Bucket, keys: readonly string[]) {
    this.bucket = bucket;
    this.keys = keys;
    this.topUp();
  }

  /** The next part's object (null when it does not exist). */
  async take(): Promise<R2ObjectBody | null> {
    const object = this.inFlight.shift();
    if (!object) throw new Error('no part left to take');
    this.topUp();
    return object;
  }

  /** Cancels the bodies fetched ahead and not taken. */
  async cancel(): Promise<void> {
    const left = this.inFlight.splice(0);
    await Promise.all(left.map((p) => p.then((o) => o?.body.cancel()).catch(() => undefined)));
  }

  private topUp(): void {
    while (this.inFlight.length < PREFETCH_DEPTH && this.next < this.keys.length) {
      const get = this.bucket.get(this.keys[this.next++] ?? '');
      get.catch(() => undefined); // a failure surfaces when the part is taken
      this.inFlight.push(get);
    }
  }
}
