/**
 * The output timeline of an MP4 run that spans several sessions (reconnects, failovers). Each session's
 * decode times start from a base its encoder chose, so the timeline moves a whole session by one shift, chosen
 * at the session's first fragment:
 *
 *   shift = max over the fragment's tracks of (end of that track so far - its first tfdt) / timescale   seconds
 *
 * and applies it to every track, in each track's timescale (rounded up). One shift in seconds for all tracks
 * keeps audio and video in sync inside the session; the max makes no track go back in time, and the track
 * that decides it continues exactly where it ended. Before the first session every track "ends" at 0, so
 * the file starts at time 0. mfhd sequence numbers are moved the same way, to follow on by one.
 *
 * Pure: fed MoofTimes in file order (or, to start mid-run, a session's first fragment and later ones).
 */

import { Mp4Error } from './boxes.ts';
import type { InitTracks } from './init-tracks.ts';
import type { MoofTimes, PlacedMoof } from './moof.ts';

interface SessionShift {
  /** Per track id, track timescale ticks. */
  ticks: Map<number, bigint>;
  /** Added to the source sequence_number, mod 2^32. */
  sequence: number;
}

export class Timeline {
  /** Per track, the output decode time just past its latest sample placed so far. */
  private readonly ends = new Map<number, bigint>();
  private shift: SessionShift | null = null;
  private lastSequence = 0;
  private readonly tracks: InitTracks;

  constructor(tracks: InitTracks) {
    this.tracks = tracks;
    for (const id of tracks.keys()) this.ends.set(id, 0n);
  }

  /** The next fragment placed is a session's first: its shift is planned from what came before. */
  beginSession(): void {
    this.shift = null;
  }

  /** Where one fragment goes in the output; records its ends. */
  place(moof: MoofTimes): PlacedMoof {
    if (moof.tracks.length === 0) throw new Mp4Error('moof without traf');
    this.shift ??= this.plan(moof);
    const { ticks, sequence } = this.shift;
    const baseMediaDecodeTimes = moof.tracks.map((t) => {
      const base = t.baseMediaDecodeTime + (ticks.get(t.trackId) ?? 0n);
      if (base < 0n) throw new Mp4Error(`track ${t.trackId}: a fragment starts before its session's first`);
      const end = base + t.duration;
      if (end > (this.ends.get(t.trackId) ?? 0n)) this.ends.set(t.trackId, end);
      return base;
    });
    const sequenceNumber = (moof.sequenceNumber + sequence) >>> 0;
    this.lastSequence = sequenceNumber;
    return { sequenceNumber, baseMediaDecodeTimes };
  }

  private plan(first: MoofTimes): SessionShift {
    // The largest (end - first) / timescale, compared as fractions: num_a * den_b > num_b * den_a.
    let num = 0n;
    let den = 0n;
    for (const t of first.tracks) {
      const scale = BigInt(this.timescale(t.trackId));
      const n = (this.ends.get(t.trackId) ?? 0n) - t.baseMediaDecodeTime;
      if (den === 0n || n * den > num * scale) {
        num = n;
        den = scale;
      }
    }
    const ticks = new Map<number, bigint>();
    for (const [id, track] of this.tracks) ticks.set(id, ceilDiv(num * BigInt(track.timescale), den));
    return { ticks, sequence: (this.lastSequence + 1 - first.sequenceNumber) >>> 0 };
  }

  private timescale(trackId: number): number {
    const track = this.tracks.get(trackId);
    if (!track) throw new Mp4Error(`fragment of track ${trackId}, which the init does not declare`);
    return track.timescale;
  }
}

/** a / b rounded towards +infinity, for b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}
