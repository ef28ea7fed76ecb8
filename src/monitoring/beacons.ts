/**
 * QoE beacons in the isolate (issue 13: beacons were the one viewer call that went straight to the stream
 * object). Each accepted batch becomes a digest (qoe.ts), summed per stream; a stream's sum leaves the isolate
 * for its region's replica at most every FLUSH_MS, on the next beacon or viewer request once due. The replica
 * sums its isolates' digests the same way (src/fanout/batched-forward.ts), so the stream object gets one call
 * per replica every five seconds however many viewers send beacons.
 */
import { addQoeDigests, type QoeDigest } from './qoe.ts';
import { FLUSH_MS, StreamTally } from './stream-tally.ts';

/** The isolate's clock for the tally, stepped by workerd tests (which share this module with the Worker). */
export const beaconClock: { now: () => number } = { now: () => Date.now() };

let tally: StreamTally<QoeDigest> | null = null;

function tallyAt(now: number): StreamTally<QoeDigest> {
  // The isolate's first beacons go up at once: a new isolate has sent nothing for a whole interval.
  tally ??= new StreamTally(addQoeDigests, now - FLUSH_MS);
  return tally;
}

export function noteBeacon(streamId: string, digest: QoeDigest, now: number): void {
  tallyAt(now).add(streamId, digest);
}

/** The digests due to go up, by stream, or null. */
export function dueBeacons(now: number): Map<string, QoeDigest> | null {
  return tally?.take(now) ?? null;
}
