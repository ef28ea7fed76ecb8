/**
 * EXT-X-PROGRAM-DATE-TIME for parts: the ingest wall clock, mapped stably onto media time.
 *
 * Stamping each part with its own arrival time would make PDT jitter with the network and the encoder's
 * output buffering, and PDT spacing would disagree with part durations (RFC 8216bis 4.4.4.6 asks for the
 * wall clock of the first sample). So the clock is anchored once, at the first keyframe (wall clock it arrived
 * at, its media time), and every later part gets anchor + media offset: monotonic, exact spacing.
 *
 * It re-anchors only when the arrival time runs more than `maxDriftMs` ahead of that mapping: the encoder
 * stalled, paused, or its clock runs slow, so media time no longer tracks real time. PDT then jumps forward,
 * never back. Arrival running behind the mapping (a burst of buffered media at connect, a fast encoder clock)
 * keeps the mapping: moving PDT backwards would break its monotonicity, which players rely on.
 */
export class ProgramDateTimeClock {
  readonly #maxDriftMs: number;
  #anchorWallMs: number | undefined;
  #anchorMediaSec = 0;
  #last = Number.NEGATIVE_INFINITY;
  /** How many times the mapping was moved forward. */
  reanchors = 0;

  constructor(maxDriftMs = 1000) {
    this.#maxDriftMs = maxDriftMs;
  }

  /** Epoch ms for a sample at `mediaSec` (seconds since the stream origin) that arrived at `receivedAtMs`. */
  stamp(mediaSec: number, receivedAtMs: number): number {
    if (this.#anchorWallMs === undefined) {
      this.#anchorWallMs = receivedAtMs;
      this.#anchorMediaSec = mediaSec;
    }
    let pdt = this.#anchorWallMs + (mediaSec - this.#anchorMediaSec) * 1000;
    if (receivedAtMs - pdt > this.#maxDriftMs) {
      this.#anchorWallMs = receivedAtMs;
      this.#anchorMediaSec = mediaSec;
      pdt = receivedAtMs;
      this.reanchors++;
    }
    pdt = Math.max(Math.round(pdt), this.#last);
    this.#last = pdt;
    return pdt;
  }
}
