/**
 * The part cutter: samples of the primary track (video, or audio when there is no video) in, closed parts and
 * segment boundaries out, numbered `{msn}/{part}`. Rules (DESIGN.md, RFC 8216bis 4.4.4.9 EXT-X-PART):
 *
 * - a part is at most `partTarget` long: it closes when the next sample would push it past;
 * - a segment closes on the first keyframe at or after `segmentTarget`; that keyframe opens the next segment's
 *   part 0, which is INDEPENDENT; the closing part carries `segmentEnd`;
 * - a keyframe inside a segment opens an INDEPENDENT part too, whenever the part before it may close there: it
 *   is at least 85% of `partTarget` long, or is itself INDEPENDENT (the two exemptions 4.4.4.9 grants besides a
 *   segment's last part). Every such keyframe is a point where a player can start and the origin can switch to a
 *   backup input, so a failover waits at most one GOP;
 * - inside a GOP planned from the one before ({@link GopPlan}), a part closes when it holds its planned frames.
 */
import { GopPlan, PART_FLOOR } from './gop-plan.ts';
import { ProgramDateTimeClock } from './program-date-time.ts';
import type { Sample } from './sample-timing.ts';

export interface PartCutterOptions {
  /** Ticks per second of the primary track. */
  timescale: number;
  /** Seconds; every part is at most this long. */
  partTarget: number;
  /** Seconds; a segment closes on the first keyframe at or after this. */
  segmentTarget: number;
  /** Media sequence number of the first segment. */
  firstMsn: number;
  /** Whether the primary track is video (keyframes, GOP plans) or audio (every sample may start a part). */
  video: boolean;
}

export interface OpenPart {
  primary: Sample[];
  /** Primary-track ticks. */
  duration: number;
  independent: boolean;
  msn: number;
  part: number;
  /** Epoch ms of the part's first sample. */
  programDateTime: number;
}

export interface ClosedPart extends OpenPart {
  segmentEnd: boolean;
  /** Seconds since the origin where the part's primary samples end. */
  endSec: number;
}

/** Where the open part stands against the next sample, in primary-track ticks. */
export interface CutPoint {
  /** The sample is a video keyframe. */
  keyframe: boolean;
  /** Where the open segment began. */
  segmentStart: number;
  partTarget: number;
  /** The segment target, less 1 ms of tolerance. */
  segmentTarget: number;
  /** Frames the GOP plan gives the open part, when there is a plan. */
  plannedFrames: number | undefined;
}

export type Cut = 'segment' | 'part' | undefined;

/**
 * Whether the open part closes before `s`: as the segment's last part (decided first: `s` is a keyframe, or
 * any audio-only sample, at or past the segment target), as a part inside the segment, or not at all.
 */
export function cutBefore(open: OpenPart, s: Sample, at: CutPoint): Cut {
  if (s.sync && s.dts - at.segmentStart >= at.segmentTarget) return 'segment';
  if (open.duration + s.duration > at.partTarget) return 'part';
  return cutAhead(open, s, at);
}

/**
 * The cuts before `s` that need no duration of `s`: every rule of {@link cutBefore} but the part-target
 * ceiling. Whatever this returns, `cutBefore` returns too, so a part closed on it is the part `cutBefore`
 * would have closed, only sooner.
 */
export function cutAhead(open: OpenPart, s: Pick<Sample, 'dts' | 'sync'>, at: CutPoint): Cut {
  if (s.sync && s.dts - at.segmentStart >= at.segmentTarget) return 'segment';
  if (at.keyframe) {
    return open.independent || open.duration >= Math.ceil(PART_FLOOR * at.partTarget) ? 'part' : undefined;
  }
  return at.plannedFrames !== undefined && open.primary.length >= at.plannedFrames ? 'part' : undefined;
}

export class PartCutter {
  /** Closed parts, oldest first, until the caller takes them. */
  readonly closed: ClosedPart[] = [];
  readonly #o: PartCutterOptions;
  readonly #stats: { pdtReanchors: number };
  /** Primary-track ticks. */
  readonly #partTarget: number;
  readonly #segmentTarget: number;
  readonly #gop = new GopPlan();
  readonly #pdt = new ProgramDateTimeClock();
  #open: OpenPart | undefined;
  #msn: number;
  #partIndex = 0;
  #segmentStart = 0;

  constructor(options: PartCutterOptions, stats: { pdtReanchors: number }) {
    this.#o = options;
    this.#stats = stats;
    this.#msn = options.firstMsn;
    const scale = options.timescale;
    this.#partTarget = Math.floor(options.partTarget * scale);
    // 1 ms of tolerance so a 2.000 s GOP timed in 1 kHz ticks closes a 2 s segment.
    this.#segmentTarget = Math.round(options.segmentTarget * scale) - Math.round(scale / 1000);
  }

  /** Adds a complete primary-track sample to the open part, closing parts and segments before it as needed. */
  place(s: Sample): void {
    const keyframe = this.#o.video && s.sync;
    const open = this.#open;
    this.#cut(open && cutBefore(open, s, this.#cutPoint(keyframe)));
    const part = this.#open ?? this.#openPart(s);
    if (keyframe) this.#gop.keyframe(s.dts, this.#partTarget, part.primary.length);
    part.primary.push(s);
    part.duration += s.duration;
    if (this.#o.video) this.#gop.frame();
  }

  /**
   * `next` has arrived but is not complete (a video sample learns its duration from the one after it): closes
   * the open part now if `next` is sure to open another. The part then goes out when `next` arrives, one frame
   * sooner than when `next` is placed (issue 14, the advertise lag); the parts themselves are the same.
   */
  closeAhead(next: Pick<Sample, 'dts' | 'sync'>): void {
    const open = this.#open;
    if (open) this.#cut(cutAhead(open, next, this.#cutPoint(this.#o.video && next.sync)));
  }

  #cut(cut: Cut): void {
    if (cut === 'segment') {
      this.close(true);
      this.#msn++;
      this.#partIndex = 0;
    } else if (cut === 'part') {
      this.close(false);
      this.#partIndex++;
      this.#gop.nextPart();
    }
  }

  /** Closes the open part (if it holds anything); `segmentEnd` also closes its segment. */
  close(segmentEnd: boolean): void {
    const open = this.#open;
    if (!open || open.primary.length === 0) return;
    const last = open.primary[open.primary.length - 1]!;
    const endSec = (last.dts + last.duration) / this.#o.timescale;
    this.closed.push({ ...open, segmentEnd, endSec });
    this.#open = undefined;
  }

  #cutPoint(keyframe: boolean): CutPoint {
    return {
      keyframe,
      segmentStart: this.#segmentStart,
      partTarget: this.#partTarget,
      segmentTarget: this.#segmentTarget,
      plannedFrames: this.#gop.plannedFrames,
    };
  }

  #openPart(s: Sample): OpenPart {
    if (this.#partIndex === 0) this.#segmentStart = s.dts;
    this.#open = {
      primary: [],
      duration: 0,
      independent: s.sync,
      msn: this.#msn,
      part: this.#partIndex,
      programDateTime: this.#pdt.stamp(s.dts / this.#o.timescale, s.receivedAt),
    };
    this.#stats.pdtReanchors = this.#pdt.reanchors;
    return this.#open;
  }
}
