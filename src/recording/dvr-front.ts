/**
 * The DVR playlist's front (dvr-playlist.ts), kept per rendition and slid as the live window moves: the front
 * moves one segment at a time, so only the new segments are read and the oldest dropped. A four-hour front is
 * 7,200 rows; reading them all again each segment cost the stream object 30 ms (bench/dvr-event.ts), and a
 * replica would pull them over RPC. Where the rows come from is the caller's: the stream object reads its
 * index, a replica asks the stream object (`plan` says what to read, `adopt` takes it).
 */
import type { RecordedSegment } from './index-store.ts';

interface Front {
  eventId: string;
  seconds: number;
  beforeMsn: number;
  segments: RecordedSegment[];
}

/** What `adopt` needs: the kept front as it is, the segments from `from` up to `beforeMsn`, or a whole walk. */
export type FrontPlan =
  | { kind: 'kept'; segments: RecordedSegment[] }
  | { kind: 'slide'; from: number }
  | { kind: 'walk' };

export class DvrFronts {
  readonly #kept = new Map<string, Front>();

  plan(eventId: string, rendition: string, beforeMsn: number, seconds: number): FrontPlan {
    const kept = this.#kept.get(rendition);
    if (kept?.eventId !== eventId || kept.seconds !== seconds || kept.beforeMsn > beforeMsn)
      return { kind: 'walk' };
    return kept.beforeMsn === beforeMsn
      ? { kind: 'kept', segments: kept.segments }
      : { kind: 'slide', from: kept.beforeMsn };
  }

  /** The front after `read` (what `plan` asked for: a kept front needs no read), kept for the next call. */
  adopt(
    eventId: string,
    rendition: string,
    beforeMsn: number,
    seconds: number,
    plan: Exclude<FrontPlan, { kind: 'kept' }>,
    read: readonly RecordedSegment[],
  ): RecordedSegment[] {
    const kept = this.#kept.get(rendition);
    const same = kept?.eventId === eventId && kept.seconds === seconds;
    // Another caller got here first while this one read (a replica awaits its reads): take what is kept when
    // it reaches as far, and append only what it lacks.
    if (same && kept.beforeMsn >= beforeMsn) return kept.segments;
    const segments =
      plan.kind === 'slide' && same
        ? trimFront([...kept.segments, ...read.filter((s) => s.msn >= kept.beforeMsn)], seconds)
        : [...read];
    this.#kept.set(rendition, { eventId, seconds, beforeMsn, segments });
    return segments;
  }

  clear(): void {
    this.#kept.clear();
  }
}

/** The newest segments that fill `seconds` (the oldest may pass it, as the index's walk reads them). */
function trimFront(segments: RecordedSegment[], seconds: number): RecordedSegment[] {
  let total = 0;
  let from = segments.length;
  while (from > 0 && total < seconds) total += (segments[--from] as RecordedSegment).duration;
  return from === 0 ? segments : segments.slice(from);
}
