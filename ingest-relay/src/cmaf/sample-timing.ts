/**
 * Access units to CMAF samples on the output timeline: ticks of the output track timescale since the stream
 * origin (the first keyframe, or the first audio frame of an audio-only stream), with the duration each sample
 * needs in the fragment's trun.
 *
 * - Video: a sample's duration is the distance to the next one, so each video track holds one sample back; at
 *   flush the last one reuses the previous duration. Units that do not move forward are dropped and counted.
 * - AAC: frames have a fixed duration, so audio needs no hold-back; samples are counted, not timed, so durations
 *   stay exact (1 kHz RTMP times would alternate 1008/1056 ticks at 48 kHz), and the count follows the input
 *   only when it jumps by more than two frames (a gap or overlap at the encoder).
 */
import type { AccessUnit } from '../media/access-unit.ts';
import type { FragmentSample } from './fragment.ts';

export interface Sample extends FragmentSample {
  /** Output track timescale ticks since the stream origin. */
  dts: number;
  /** Wall clock (epoch ms) the relay received the unit. */
  receivedAt: number;
}

/** How one track's input times map onto the output timeline. */
export interface TrackTiming {
  /** Ticks per second of the access units' dts/pts. */
  inScale: number;
  /** Ticks per second of the output track (mdhd). */
  outScale: number;
  /** Seconds of input time where the output timeline starts. */
  originSec: number;
}

/** `ticks` of input time as output ticks since the origin. */
function sinceOrigin(t: TrackTiming, ticks: number): number {
  return Math.round((ticks / t.inScale - t.originSec) * t.outScale);
}

export type VideoPush =
  | { accepted: false }
  /** `complete`: the sample before this one, now that its duration is known. */
  | { accepted: true; complete: Sample | undefined };

export class VideoTiming {
  readonly #t: TrackTiming;
  readonly #stats: { droppedNonMonotonic: number };
  #held: Sample | undefined;
  /** Input ticks of the last unit taken. */
  #lastIn = Number.NEGATIVE_INFINITY;
  /** Output ticks, the duration of the last completed sample. */
  #lastDuration = 0;

  constructor(timing: TrackTiming, stats: { droppedNonMonotonic: number }) {
    this.#t = timing;
    this.#stats = stats;
  }

  /** The sample held back, waiting for the next one to know its duration. */
  get held(): Sample | undefined {
    return this.#held;
  }

  push(unit: AccessUnit): VideoPush {
    const dts = sinceOrigin(this.#t, unit.dts);
    if (unit.dts <= this.#lastIn || dts < 0) {
      this.#stats.droppedNonMonotonic++;
      return { accepted: false };
    }
    this.#lastIn = unit.dts;
    const complete = this.#held;
    this.#held = {
      dts,
      cto: Math.round(((unit.pts - unit.dts) * this.#t.outScale) / this.#t.inScale),
      duration: 0,
      data: unit.data,
      sync: unit.keyframe,
      receivedAt: unit.receivedAt,
    };
    if (complete) {
      complete.duration = dts - complete.dts;
      this.#lastDuration = complete.duration;
    }
    return { accepted: true, complete };
  }

  /** End of stream: the held sample, with the previous duration (or 1/30 s when it is the only one). */
  flush(): Sample | undefined {
    const last = this.#held;
    this.#held = undefined;
    if (last) last.duration = this.#lastDuration || Math.round(this.#t.outScale / 30);
    return last;
  }
}

export class AudioTiming {
  readonly #t: TrackTiming;
  /** Output ticks per AAC frame. */
  readonly #frame: number;
  readonly #stats: { droppedBeforeKeyframe: number; audioResyncs: number };
  #next: number | undefined;

  constructor(
    timing: TrackTiming,
    frameTicks: number,
    stats: { droppedBeforeKeyframe: number; audioResyncs: number },
  ) {
    this.#t = timing;
    this.#frame = frameTicks;
    this.#stats = stats;
  }

  /** Output ticks where the next frame starts (the end of the audio so far); undefined before the first. */
  get end(): number | undefined {
    return this.#next;
  }

  /** The sample for an AAC frame; undefined (counted) for one from before the origin. */
  push(unit: AccessUnit): Sample | undefined {
    const dts = sinceOrigin(this.#t, unit.dts);
    if (dts < 0) {
      this.#stats.droppedBeforeKeyframe++;
      return undefined;
    }
    if (this.#next === undefined || Math.abs(dts - this.#next) > 2 * this.#frame) {
      if (this.#next !== undefined) this.#stats.audioResyncs++;
      this.#next = dts;
    }
    const sample: Sample = {
      dts: this.#next,
      cto: 0,
      duration: this.#frame,
      data: unit.data,
      sync: true,
      receivedAt: unit.receivedAt,
    };
    this.#next += this.#frame;
    return sample;
  }
}

/**
 * Output ticks per AAC frame: 1024 samples, but HE-AAC with explicit SBR signalling reports the output rate
 * (the sample rate the track timescale uses): 2048 output samples per core frame.
 */
export function aacFrameTicks(objectType: number): number {
  return objectType === 5 || objectType === 29 ? 2048 : 1024;
}
