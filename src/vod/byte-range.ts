/**
 * The one byte range of a Range request (RFC 9110 14.1.2, 14.2), against a representation of `total` bytes.
 * A header we do not honour (absent, another unit, malformed, several ranges) is ignored, as 14.2 allows, and
 * the whole file is served; a well-formed range that selects nothing is unsatisfiable (416).
 */

export type ByteRangeAnswer =
  | { kind: 'whole' }
  | { kind: 'unsatisfiable' }
  /** Inclusive first and last byte positions, as in Content-Range. */
  | { kind: 'partial'; first: number; last: number };

/** RFC 9110 14.1.1: the unit is case-insensitive; no whitespace inside one range-spec. */
const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/i;

export function resolveByteRange(header: string | null, total: number): ByteRangeAnswer {
  if (header === null) return { kind: 'whole' };
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return { kind: 'whole' };
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '') {
    // suffix-range: the last N bytes; "bytes=-" is malformed, "bytes=-0" selects nothing (14.1.3).
    if (lastText === '') return { kind: 'whole' };
    const suffix = Number(lastText);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', first: Math.max(0, total - suffix), last: total - 1 };
  }
  const first = Number(firstText);
  // "first-last" with last < first is an invalid range-spec (14.1.1), not an unsatisfiable one.
  if (lastText !== '' && Number(lastText) < first) return { kind: 'whole' };
  if (first >= total) return { kind: 'unsatisfiable' };
  const last = lastText === '' ? total - 1 : Math.min(Number(lastText), total - 1);
  return { kind: 'partial', first, last };
}
