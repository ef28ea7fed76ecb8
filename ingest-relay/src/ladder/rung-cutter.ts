/**
 * One rung's parts, cut where the source's were cut. Pure: time comes in as arguments.
 *
 * Alignment by construction (issue 12): the source's segmenter decides every part (its GOP plan, segment
 * closes, INDEPENDENT flags); the rung takes each source part's span and fills it with its own frames. A
 * source part covers decode times [dts, dts + duration) on the output timeline; shifted by the source's
 * reorder delay (the composition offset of its keyframe, 0 without B-frames) that is the presentation span
 * [start, end) the rung's frames fall in, since the rung has no B-frames (its dts is its pts) and keeps the
 * source's timestamps. So the rung's part i has the source's msn, part number, duration and PDT, the same
 * audio samples (copied, never re-encoded), and starts on the rung's keyframe where the source's starts on one.
 *
 * A part the rung cannot fill in time (`gapAfterMs` after the source's, or ever: ffmpeg gone) is a gap; after
 * a gap the rung's decoder state is lost, so it stays a gap until an INDEPENDENT part whose first frame is the
 * rung's keyframe at the part's start: that is where it rejoins.
 */
import type { Sample } from '../cmaf/sample-timing.ts';

/** A source part as the rung needs it. Ticks of the 90 kHz output timeline unless named otherwise. */
export interface SourceSpan {
  msn: number;
  part: number;
  /** Seconds. */
  duration: number;
  independent: boolean;
  segmentEnd: boolean;
  /** Epoch ms. */
  programDateTime: number;
  /** Presentation span the rung's frames fall in. */
  start: number;
  end: number;
  /** The source part's audio samples, copied into the rung's part as they are. */
  audio: readonly Sample[];
  /** When the source part was ready at the relay (monotonic ms). */
  readyAt: number;
}

/** A rung frame on the output timeline: `dts` is its pts (no B-frames). */
export type RungFrame = Sample;

export type RungPart =
  | { type: 'part'; span: SourceSpan; video: Sample[]; independent: boolean; lagMs: number }
  | { type: 'gap'; span: SourceSpan; why: 'late' | 'no-frames' | 'not-joined' | 'ended' };

export interface RungCutterStats {
  /** Frames before the oldest open span (belonging to a part already cut or given up). */
  framesLate: number;
  /** Frames dropped because too many waited for a span. */
  framesOverflow: number;
}

/** Frames held for spans the source has not cut yet: about 10 s at 60 fps, far past any gap deadline. */
const MAX_PENDING_FRAMES = 600;

export class RungCutter {
  readonly #gapAfterMs: number;
  readonly #spans: SourceSpan[] = [];
  #pending: RungFrame[] = [];
  #joined = false;
  readonly stats: RungCutterStats = { framesLate: 0, framesOverflow: 0 };

  /** `gapAfterMs`: how long after the source's part the rung's may still come. */
  constructor(gapAfterMs: number) {
    this.#gapAfterMs = gapAfterMs;
  }

  get joined(): boolean {
    return this.#joined;
  }

  /** Spans waiting for frames. */
  get waiting(): number {
    return this.#spans.length;
  }

  span(s: SourceSpan, now: number): RungPart[] {
    this.#spans.push(s);
    return this.#cut(now, false);
  }

  frame(f: RungFrame, now: number): RungPart[] {
    if (this.#pending.length >= MAX_PENDING_FRAMES) {
      this.#pending.shift();
      this.stats.framesOverflow++;
    }
    this.#pending.push(f);
    return this.#cut(now, false);
  }

  /** Deadlines: parts past `gapAfterMs` become gaps. */
  tick(now: number): RungPart[] {
    return this.#cut(now, false);
  }

  /**
   * The rung's encoder is gone (crashed, stopped, restarting): every span waiting is cut with the frames it has
   * and the rest are gaps; frames from before are dropped. The rung rejoins at a keyframe of a later span.
   */
  lost(now: number): RungPart[] {
    const out = this.#cut(now, true);
    this.#pending = [];
    this.#joined = false;
    return out;
  }

  #cut(now: number, ending: boolean): RungPart[] {
    const out: RungPart[] = [];
    for (;;) {
      const s = this.#spans[0];
      if (!s) break;
      this.#dropBefore(s.start);
      const past = this.#pending.some((f) => f.dts >= s.end);
      const late = now - s.readyAt > this.#gapAfterMs;
      if (!past && !ending && !late) break;
      this.#spans.shift();
      const frames = this.#take(s.end);
      out.push(past || ending ? this.#cutSpan(s, frames, now, ending) : this.#gap(s, 'late'));
    }
    return out;
  }

  #cutSpan(s: SourceSpan, frames: RungFrame[], now: number, ending: boolean): RungPart {
    const first = frames[0];
    if (!first) return this.#gap(s, ending ? 'ended' : 'no-frames');
    const startsOnKeyframe = first.sync && first.dts === s.start;
    if (!this.#joined && !(s.independent && startsOnKeyframe)) return this.#gap(s, 'not-joined');
    // A segment's first part must decode on its own; a rung that lost its keyframe there rejoins later.
    if (s.part === 0 && !startsOnKeyframe) return this.#gap(s, 'not-joined');
    this.#joined = true;
    const video = frames.map((f, i) => ({ ...f, duration: (frames[i + 1]?.dts ?? s.end) - f.dts }));
    return {
      type: 'part',
      span: s,
      video,
      independent: s.independent && startsOnKeyframe,
      lagMs: now - s.readyAt,
    };
  }

  #gap(s: SourceSpan, why: Extract<RungPart, { type: 'gap' }>['why']): RungPart {
    this.#joined = false;
    return { type: 'gap', span: s, why };
  }

  #dropBefore(start: number): void {
    let n = 0;
    while (n < this.#pending.length && this.#pending[n]!.dts < start) n++;
    if (n === 0) return;
    this.stats.framesLate += n;
    this.#pending = this.#pending.slice(n);
  }

  #take(end: number): RungFrame[] {
    let n = 0;
    while (n < this.#pending.length && this.#pending[n]!.dts < end) n++;
    const taken = this.#pending.slice(0, n);
    this.#pending = this.#pending.slice(n);
    return taken;
  }
}
