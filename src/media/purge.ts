/** Removing a stream's media from R2 (stream deletion). */

/** Lists and deletes every object under `prefix`, 1,000 keys per call, at most 100 rounds. */
export async function deleteMedia(bucket: R2Bucket, prefix: string): Promise<void> {
  let cursor: string | undefined;
  for (let round = 0; round < 100; round++) {
    const listing = await bucket.list(cursor ? { prefix, cursor, limit: 1000 } : { prefix, limit: 1000 });
    if (listing.objects.length > 0) await bucket.delete(listing.objects.map((o) => o.key));
    if (!listing.truncated) return;
    cursor = listing.cursor;
  }
}
