/**
 * The receiver's loss list (draft-sharabayko-srt-01 §4.8.1): the packets missing between the next one to
 * deliver and the highest one received, as ranges of unwrapped sequence positions (receiver.ts), each with when
 * it was last NAKed (§4.8.2). A gap is one range however far ahead the packet that opened it, so a jump of 2^30
 * costs what a jump of 10 costs: every operation is a binary search and at most one splice of the list, and the
 * ranges are disjoint within the receive window, so there are never more of them than packets (data or DROPREQ)
 * received to separate them.
 */

/** Positions first..last, inclusive. */
export interface PositionRange {
  first: number;
  last: number;
}

export interface MissingRange {
  /** Unwrapped sequence positions, first <= last. */
  first: number;
  last: number;
  /** When this range was last NAKed, µs. */
  nakAtUs: number;
  /** The sender gave these up (DROPREQ, §3.2.9): never NAKed, dropped without waiting for a later packet. */
  abandoned: boolean;
}

/** Spent entries at the front are cut off once they are this many and half the array. */
const COMPACT_AFTER = 64;

export class LossList {
  /** Sorted by position and disjoint; the entries before #start were dropped from the front. */
  #ranges: MissingRange[] = [];
  #start = 0;
  /** At or before the oldest NAK time of any range: while it is not an interval old, no NAK is due. */
  #earliestNakUs = Number.POSITIVE_INFINITY;

  get length(): number {
    return this.#ranges.length - this.#start;
  }

  /** The range at the lowest positions: it starts at the receiver's head whenever the head is missing. */
  front(): MissingRange | undefined {
    return this.#ranges[this.#start];
  }

  *[Symbol.iterator](): Generator<MissingRange> {
    for (let i = this.#start; i < this.#ranges.length; i++) yield this.#ranges[i] as MissingRange;
  }

  /** The first range still awaited (not abandoned): where the ACK point stops. */
  firstAwaited(): MissingRange | undefined {
    for (const range of this) if (!range.abandoned) return range;
    return undefined;
  }

  /** A new gap [first, last] beyond every range held: a packet arrived ahead of the highest received. */
  open(first: number, last: number, nowUs: number): void {
    this.#ranges.push({ first, last, nakAtUs: nowUs, abandoned: false });
    this.#earliestNakUs = Math.min(this.#earliestNakUs, nowUs);
  }

  /**
   * Periodic NAK (§4.8.2): the awaited ranges last NAKed `intervalUs` or more ago, adjacent ones merged, at most
   * `maxRanges`; they count as NAKed now. The rest wait for the next call, still due. A call with nothing due
   * costs O(1), so the scan runs once a NAK interval, not on every tick.
   */
  takeDueForNak(nowUs: number, intervalUs: number, maxRanges: number): PositionRange[] {
    const due: PositionRange[] = [];
    if (nowUs - this.#earliestNakUs < intervalUs) return due;
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.#start; i < this.#ranges.length; i++) {
      const range = this.#ranges[i] as MissingRange;
      if (range.abandoned) continue;
      if (nowUs - range.nakAtUs >= intervalUs) {
        const prev = due[due.length - 1];
        if (prev && prev.last + 1 === range.first) prev.last = range.last;
        else if (due.length === maxRanges)
          return due; // #earliestNakUs stays a bound for those not reached
        else due.push({ first: range.first, last: range.last });
        range.nakAtUs = nowUs;
      }
      earliest = Math.min(earliest, range.nakAtUs);
    }
    this.#earliestNakUs = earliest;
    return due;
  }

  /** `pos` arrived: takes it out of its range. True when it was awaited (missing and not abandoned). */
  fill(pos: number): boolean {
    const i = this.#indexOf(pos);
    const range = this.#ranges[i];
    if (range === undefined) return false;
    if (range.first === range.last) this.#removeAt(i);
    else if (pos === range.first) range.first++;
    else if (pos === range.last) range.last--;
    else {
      this.#ranges.splice(i + 1, 0, { ...range, first: pos + 1 });
      range.last = pos - 1;
    }
    return !range.abandoned;
  }

  /** DROPREQ: the awaited positions of [first, last] become abandoned, ranges split at its edges. */
  abandon(first: number, last: number): void {
    const from = this.#firstEndingAtOrAfter(first);
    const replacement: MissingRange[] = [];
    let to = from;
    for (; to < this.#ranges.length; to++) {
      const range = this.#ranges[to] as MissingRange;
      if (range.first > last) break;
      if (range.abandoned) {
        replacement.push(range);
        continue;
      }
      if (range.first < first) replacement.push({ ...range, last: first - 1 });
      const inner = { first: Math.max(range.first, first), last: Math.min(range.last, last) };
      replacement.push({ ...range, ...inner, abandoned: true });
      if (range.last > last) replacement.push({ ...range, first: last + 1 });
    }
    if (to === from) return;
    // concat, not splice(...replacement): the replacement may hold more ranges than a call takes arguments.
    this.#ranges = this.#ranges.slice(0, from).concat(replacement, this.#ranges.slice(to));
  }

  /** The last position of the run of adjacent ranges from the front; the position after it is buffered. */
  runEnd(): number {
    const front = this.front();
    if (front === undefined) return Number.NaN;
    let end = front.last;
    for (let i = this.#start + 1; i < this.#ranges.length; i++) {
      const range = this.#ranges[i] as MissingRange;
      if (range.first !== end + 1) break;
      end = range.last;
    }
    return end;
  }

  /** Forgets every position up to `last` (dropped at the head, too late or abandoned). */
  dropThrough(last: number): void {
    for (let front = this.front(); front !== undefined; front = this.front()) {
      if (front.first > last) return;
      if (front.last > last) {
        front.first = last + 1;
        return;
      }
      this.#removeAt(this.#start);
    }
  }

  clear(): void {
    this.#ranges = [];
    this.#start = 0;
    this.#earliestNakUs = Number.POSITIVE_INFINITY;
  }

  /** Index of the range holding `pos`, or -1. */
  #indexOf(pos: number): number {
    const i = this.#firstEndingAtOrAfter(pos);
    const range = this.#ranges[i];
    return range !== undefined && range.first <= pos ? i : -1;
  }

  /** Index of the first range whose last position is >= pos (the array's length if none). */
  #firstEndingAtOrAfter(pos: number): number {
    let lo = this.#start;
    let hi = this.#ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ranges[mid] as MissingRange).last < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #removeAt(i: number): void {
    if (i !== this.#start) {
      this.#ranges.splice(i, 1);
      return;
    }
    this.#start++;
    if (this.#start === this.#ranges.length) this.clear();
    else if (this.#start >= COMPACT_AFTER && this.#start * 2 >= this.#ranges.length) {
      this.#ranges = this.#ranges.slice(this.#start);
      this.#start = 0;
    }
  }
}
