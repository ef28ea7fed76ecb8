/**
 * Emptying R2 prefixes in bounded runs (issue 15: a purge inside the DELETE request stopped at 100,000 objects).
 * A stream object keeps its queue of prefixes (src/stream/sweep-queue.ts) and works it from its alarm, a bounded
 * number of keys a run, until every prefix is empty, whatever their number.
 */

/** R2 lists, and deletes, at most 1,000 keys a call. */
export const SWEEP_PAGE = 1_000;

export interface SweepRun {
  deleted: number;
  /** Nothing is left under the prefix. */
  emptied: boolean;
}

/**
 * Deletes up to `maxKeys` objects under `prefix` (whole pages). Each page is listed from the prefix afresh:
 * what was deleted is gone from the listing (R2 is strongly consistent), so no cursor has to outlive a run.
 */
export async function sweepPrefix(bucket: R2Bucket, prefix: string, maxKeys: number): Promise<SweepRun> {
  let deleted = 0;
  while (deleted < maxKeys) {
    const listing = await bucket.list({ prefix, limit: Math.min(SWEEP_PAGE, maxKeys - deleted) });
    if (listing.objects.length > 0) await bucket.delete(listing.objects.map((o) => o.key));
    deleted += listing.objects.length;
    if (!listing.truncated) return { deleted, emptied: true };
  }
  return { deleted, emptied: false };
}
