/**
 * Timestamp wraparound lives here, and only here (STYLE.md habit 6).
 *
 * MPEG-TS PTS/DTS are 33-bit 90 kHz counters (ISO 13818-1 2.4.3.7) that wrap about every 26.5 hours; RTMP
 * timestamps are 32-bit milliseconds (wrap after about 49.7 days), and encoders also restart them on
 * reconnect. An Unwrapper turns a wrapping counter into a monotonic-ish extended value: each new raw value is
 * placed in the wrap epoch that puts it closest to the previous extended value.
 */
export class Unwrapper {
  readonly #modulus: number;
  #last: number | undefined;

  /** `bits`: counter width (33 for MPEG-TS PTS/DTS, 32 for RTMP). */
  constructor(bits: number) {
    this.#modulus = 2 ** bits;
  }

  /** Extends `raw` (0 <= raw < 2^bits) to the value nearest the previous one, across any number of wraps. */
  unwrap(raw: number): number {
    if (this.#last === undefined) {
      this.#last = raw;
      return raw;
    }
    const m = this.#modulus;
    const base = this.#last - (((this.#last % m) + m) % m);
    let candidate = base + raw;
    // Choose among the epochs around the last value the one nearest to it.
    if (candidate - this.#last > m / 2) candidate -= m;
    else if (this.#last - candidate > m / 2) candidate += m;
    this.#last = candidate;
    return candidate;
  }

  reset(): void {
    this.#last = undefined;
  }
}

/** Difference a - b of two raw wrapping counters of `bits` width, in (-2^(bits-1), 2^(bits-1)]. */
export function wrappedDelta(a: number, b: number, bits: number): number {
  const m = 2 ** bits;
  let d = (((a - b) % m) + m) % m;
  if (d > m / 2) d -= m;
  return d;
}

/** SRT packet sequence numbers are 31-bit counters (draft-sharabayko-srt §3.1): 0 .. 2^31 - 1, then 0. */
export const SRT_SEQ_MODULUS = 0x80000000;

/** Signed distance a - b between two SRT sequence numbers, in (-2^30, 2^30]. */
export function seqDiff(a: number, b: number): number {
  return wrappedDelta(a, b, 31);
}

/** The sequence number n after `seq` (n may be negative), wrapped into 31 bits. */
export function seqAdd(seq: number, n: number): number {
  return (((seq + n) % SRT_SEQ_MODULUS) + SRT_SEQ_MODULUS) % SRT_SEQ_MODULUS;
}
