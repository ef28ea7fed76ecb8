/**
 * The packets the receiver dropped last (too late or abandoned), to tell a belated arrival (libsrt's
 * pktRcvBelated) from a duplicate. It keeps the last `capacity` positions dropped, as ranges of unwrapped
 * sequence positions with when each was dropped: a drop of 2^30 packets at once is one range of its last
 * `capacity` positions, not 2^30 entries.
 */

interface DroppedRange {
  /** Unwrapped sequence positions, first <= last. */
  first: number;
  last: number;
  /** When they were dropped, µs. */
  atUs: number;
}

export class DropHistory {
  readonly #capacity: number;
  /** In increasing position: drops happen at the receiver's head, which only moves forward. */
  readonly #ranges: DroppedRange[] = [];
  /** Positions held over all ranges, at most #capacity. */
  #size = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(first: number, last: number, atUs: number): void {
    const from = Math.max(first, last - this.#capacity + 1);
    this.#ranges.push({ first: from, last, atUs });
    this.#size += last - from + 1;
    while (this.#size > this.#capacity) {
      const oldest = this.#ranges[0] as DroppedRange;
      const excess = this.#size - this.#capacity;
      const count = oldest.last - oldest.first + 1;
      if (count > excess) {
        oldest.first += excess;
        this.#size -= excess;
      } else {
        this.#ranges.shift();
        this.#size -= count;
      }
    }
  }

  /** When `pos` was dropped, forgetting it (a second arrival is a duplicate); undefined if not remembered. */
  take(pos: number): number | undefined {
    let lo = 0;
    let hi = this.#ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ranges[mid] as DroppedRange).last < pos) lo = mid + 1;
      else hi = mid;
    }
    const range = this.#ranges[lo];
    if (range === undefined || range.first > pos) return undefined;
    if (range.first === range.last) this.#ranges.splice(lo, 1);
    else if (pos === range.first) range.first++;
    else if (pos === range.last) range.last--;
    else {
      this.#ranges.splice(lo + 1, 0, { ...range, first: pos + 1 });
      range.last = pos - 1;
    }
    this.#size--;
    return range.atUs;
  }
}
