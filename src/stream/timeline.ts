/**
 * Queries over the part timeline: where a session's next part must land (session-local numbers), whether the
 * published playlist holds a part (published numbers), a rendition's measured bandwidth. Pure.
 */
import {
  type Attachment,
  type InputTrack,
  isGap,
  own,
  type RenditionState,
  type Segment,
  type SessionInfo,
} from './model.ts';

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

/**
 * The next part the playlist of `r` will list for `session` (local numbers; the preload hint): the session's
 * next part in this rendition, but never one before where `join` starts publishing it. A rung lagging the
 * source at a join decided on the source has parts to come that are before the joined keyframe and will
 * never be listed.
 */
export function nextListedPart(r: RenditionState, session: SessionInfo, join: Attachment | null): Position {
  const next = trackNext(own(r.tracks, session.id), session.firstMsn);
  if (join?.sessionId !== session.id) return next;
  const from = { msn: join.localMsn, part: join.localPart };
  const at = next.msn < from.msn || (next.msn === from.msn && next.part < from.part) ? from : next;
  // Already listed: gaps the rendition followed the source with before the session's rung started
  // (projection.ts `followAsGaps`). What it lists next comes after them.
  if (!findPublishedPart(r, session.id, at.msn, at.part)) return at;
  const last = r.segments.findLast((s) => s.sessionId === session.id);
  if (!last) return at;
  return last.complete
    ? { msn: last.localMsn + 1, part: 0 }
    : { msn: last.localMsn, part: last.firstPart + last.parts.length };
}

/**
 * The last published part (for EXT-X-RENDITION-REPORT and the blocking decision), or null before any. A last
 * segment without parts yet (a lagging rung's segment at a join, opened before its first part arrived) is not
 * in the playlist, so the part before it is the last one.
 */
export function lastPosition(r: RenditionState): Position | null {
  for (let i = r.segments.length - 1; i >= 0; i--) {
    const s = r.segments[i];
    if (s && s.parts.length > 0) return { msn: s.msn, part: s.parts.length - 1 };
  }
  return null;
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

export interface MeasureOptions {
  /** Complete segments to measure over. */
  count?: number;
  /** Only complete segments: no estimate from the open segment's first parts (a keyframe part runs large). */
  completeOnly?: boolean;
}

/**
 * Measured over the last `count` complete segments, or the open segment's parts when none is complete. Gap
 * parts carry no bytes and are left out, bytes and time alike: a rung that was a gap for half a segment
 * streamed at its own rate for the other half, not at half of it. Segments with no media at all are skipped.
 */
export function measureBandwidth(r: RenditionState, opts: MeasureOptions = {}): Bandwidth | null {
  const withMedia = r.segments.filter((s) => mediaSeconds(s) > 0);
  const complete = withMedia.filter((s) => s.complete).slice(-(opts.count ?? 6));
  const sample = complete.length > 0 || opts.completeOnly ? complete : withMedia.slice(-1);
  if (sample.length === 0) return null;
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of sample) {
    const size = s.parts.reduce((sum, p) => sum + (isGap(p) ? 0 : p.size), 0) * 8;
    const duration = mediaSeconds(s);
    bits += size;
    seconds += duration;
    peak = Math.max(peak, size / duration);
  }
  return { peak: Math.round(peak), average: Math.round(bits / seconds) };
}

/** Seconds of a segment that are media (its parts that are not gaps). */
function mediaSeconds(segment: Segment): number {
  let total = 0;
  for (const p of segment.parts) if (!isGap(p)) total += p.duration;
  return total;
}
