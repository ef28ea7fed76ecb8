/**
 * Audio for the closed parts of a video track: each AAC sample goes into the part whose video span holds its
 * dts. A closed part waits until the audio for its span has arrived, until `audioWait` seconds of video have
 * come after it (audio that is behind is not waited for longer), or until the end of the stream.
 */
import type { ClosedPart } from './part-cutter.ts';
import type { Sample } from './sample-timing.ts';

/** Where the stream has got to when a closed part asks for its audio. */
export interface InterleaveAt {
  /** Audio output ticks received so far (where the next frame starts); undefined before the first. */
  audioEnd: number | undefined;
  /** Seconds since the origin where the video has got to (its held sample); undefined when none is held. */
  videoAtSec: number | undefined;
  /** End of stream: every part is ready; the last one takes the rest of the audio. */
  final: boolean;
  /** The part is the last closed one. */
  last: boolean;
}

export class AudioInterleave {
  /** Audio output ticks per second. */
  readonly #scale: number;
  /** Seconds. */
  readonly #wait: number;
  readonly #queue: Sample[] = [];

  constructor(audioTimescale: number, audioWait: number) {
    this.#scale = audioTimescale;
    this.#wait = audioWait;
  }

  push(sample: Sample): void {
    this.#queue.push(sample);
  }

  /** The audio for `part` (the oldest closed part), out of the queue; undefined while the part must wait. */
  take(part: ClosedPart, at: InterleaveAt): Sample[] | undefined {
    const audioEndSec = (at.audioEnd ?? 0) / this.#scale;
    const videoAtSec = at.videoAtSec ?? part.endSec;
    const ready = at.final || audioEndSec >= part.endSec || videoAtSec - part.endSec >= this.#wait;
    if (!ready) return undefined;
    const cut =
      at.final && at.last
        ? this.#queue.length
        : this.#queue.findIndex((a) => a.dts / this.#scale >= part.endSec);
    return this.#queue.splice(0, cut < 0 ? this.#queue.length : cut);
  }
}
