/**
 * Queries over the part timeline: where a session's next part must land (session-local numbers), whether the
 * published playlist holds a part (published numbers), a rendition's measured bandwidth. Pure.
 */
import { type InputTrack, type RenditionState, type Segment, segmentDuration } from './model.ts';

export interface Position {
  msn: number;
  part: number;
}

/** The local position the next part of `track` must have (a session's first part is `firstMsn`.0). */
export function trackNext(track: InputTrack | undefined, firstMsn: number): Position {
  const last = track?.recent.at(-1);
  if (!last) return { msn: firstMsn, part: 0 };
  return last.complete
    ? { msn: last.localMsn + 1, part: 0 }
    : { msn: last.localMsn, part: last.parts.length };
}

/** The last committed part (for EXT-X-RENDITION-REPORT and the blocking decision), or null. */
export function lastPosition(r: RenditionState): Position | null {
  const last = r.segments.at(-1);
  if (!last || last.parts.length === 0) return null;
  return { msn: last.msn, part: last.parts.length - 1 };
}

export function findSegment(r: RenditionState, msn: number): Segment | undefined {
  // Segments are contiguous and ordered, so index by offset from the first; fall back to a scan.
  const first = r.segments[0];
  if (!first) return undefined;
  const guess = r.segments[msn - first.msn];
  return guess?.msn === msn ? guess : r.segments.find((s) => s.msn === msn);
}

/** A published segment by the session's own number (what media URIs carry). */
export function findPublished(r: RenditionState, sessionId: string, localMsn: number): Segment | undefined {
  for (let i = r.segments.length - 1; i >= 0; i--) {
    const s = r.segments[i];
    if (s?.sessionId === sessionId && s.localMsn === localMsn) return s;
  }
  return undefined;
}

/** A published part by its local numbers (a joined segment's published part i is local part firstPart + i). */
export function findPublishedPart(r: RenditionState, sessionId: string, localMsn: number, part: number) {
  const s = findPublished(r, sessionId, localMsn);
  return s && part >= s.firstPart ? s.parts[part - s.firstPart] : undefined;
}

/**
 * Does the rendition hold (msn, part)? `part` undefined means the whole segment (RFC 8216bis 6.2.5.2:
 * `_HLS_msn` alone waits for the segment). A part index beyond the last part of a complete segment means
 * part 0 of the next one.
 */
export function holds(r: RenditionState, msn: number, part: number | undefined): boolean {
  const segment = findSegment(r, msn);
  if (part === undefined) return segment?.complete === true || findSegment(r, msn + 1) !== undefined;
  if (segment && part < segment.parts.length) return true;
  if (segment?.complete) return (findSegment(r, msn + 1)?.parts.length ?? 0) > 0;
  const last = r.segments.at(-1);
  return last !== undefined && last.msn > msn + 1;
}

export interface Bandwidth {
  /** Bits per second: the highest segment bitrate over recent segments (BANDWIDTH, RFC 8216bis 4.4.6.2). */
  peak: number;
  /** Bits per second over the same segments (AVERAGE-BANDWIDTH). */
  average: number;
}

/** Measured over the last `count` complete segments, or the open segment's parts when none is complete. */
export function measureBandwidth(r: RenditionState, count = 6): Bandwidth | null {
  const complete = r.segments.filter((s) => s.complete && segmentDuration(s) > 0).slice(-count);
  const sample = complete.length > 0 ? complete : r.segments.filter((s) => segmentDuration(s) > 0).slice(-1);
  if (sample.length === 0) return null;
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of sample) {
    const size = s.parts.reduce((sum, p) => sum + p.size, 0) * 8;
    const duration = segmentDuration(s);
    bits += size;
    seconds += duration;
    peak = Math.max(peak, size / duration);
  }
  return { peak: Math.round(peak), average: Math.round(bits / seconds) };
}
