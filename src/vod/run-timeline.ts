/**
 * Primes a Timeline to start a download mid-run, without reading the media before the range. The shift of
 * session k depends on where every earlier session ended, so for each session before the range's this reads
 * the first moof of its first part and the moofs of its last part(s); for the range's session, its first moof
 * (and its last part's moofs when the range runs on into the next session). Cost: about 2 ranged R2 reads of
 * at most PROBE_BYTES per earlier session, whatever the sessions' lengths.
 */
import type { InitTracks } from './init-tracks.ts';
import type { MoofTimes } from './moof.ts';
import { probeMoofs, type StoredObject } from './moof-probe.ts';
import type { Timeline } from './timeline.ts';

/** A session's end is found within this many last parts: every track of ours is in every part. */
const MAX_TAIL_PARTS = 4;

export interface RunSession {
  parts: readonly StoredObject[];
}

export async function primeTimeline(
  bucket: R2Bucket,
  tracks: InitTracks,
  timeline: Timeline,
  sessions: readonly RunSession[],
  start: { session: number; tailToo: boolean },
): Promise<void> {
  for (let s = 0; s <= start.session; s++) {
    const parts = sessions[s]?.parts ?? [];
    const head = parts[0];
    if (!head) continue;
    timeline.beginSession();
    for (const moof of await probeMoofs(bucket, head, tracks, true)) timeline.place(moof);
    if (s < start.session || start.tailToo) {
      for (const moof of await sessionTail(bucket, tracks, parts)) timeline.place(moof);
    }
  }
}

/** The moofs of the session's last parts, in order, back to one that holds every track of the init. */
async function sessionTail(
  bucket: R2Bucket,
  tracks: InitTracks,
  parts: readonly StoredObject[],
): Promise<MoofTimes[]> {
  const seen = new Set<number>();
  const tail: MoofTimes[][] = [];
  for (let i = parts.length - 1; i >= Math.max(0, parts.length - MAX_TAIL_PARTS); i--) {
    const part = parts[i];
    if (!part) break;
    const moofs = await probeMoofs(bucket, part, tracks, false);
    tail.unshift(moofs);
    for (const moof of moofs) for (const t of moof.tracks) seen.add(t.trackId);
    if (seen.size >= tracks.size) break;
  }
  return tail.flat();
}
