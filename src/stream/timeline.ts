/**
 * The part timeline of one rendition: where the next part must land, whether a part is already there, and the
 * `addPart` reducer. Pure: `now` is an argument, the result says what happened.
 */
import type { PartMeta } from '../contract/ingest.ts';
import {
  type PartRecord,
  type PendingPart,
  RETAINED_SEGMENTS,
  type RenditionState,
  type Segment,
  type StreamState,
  segmentDuration,
} from './state.ts';

/** How far ahead of the next expected part an upload may arrive (pipelined uploader) and be held. */
export const PENDING_WINDOW = 8;
/** Seconds a part may exceed PART-TARGET by: RFC 8216bis 4.4.4.9 says <= PART-TARGET; 1 ms absorbs rounding. */
export const PART_DURATION_TOLERANCE = 0.001;

export interface Position {
  msn: number;
  part: number;
}

export interface PartUpload extends PartMeta {
  sessionId: string;
}

export type AddPartResult =
  | { kind: 'committed'; committed: Position[]; pruned: number[] }
  | { kind: 'pending' }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; status: 409 | 410 | 422; reason: string };

/** The position the next part of this rendition in `sessionId` must have. */
export function nextPosition(r: RenditionState, sessionId: string, firstMsn: number): Position {
  const last = r.segments.at(-1);
  if (!last || last.sessionId !== sessionId) return { msn: firstMsn, part: 0 };
  return last.complete ? { msn: last.msn + 1, part: 0 } : { msn: last.msn, part: last.parts.length };
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

export function addPart(
  state: StreamState,
  upload: PartUpload,
  now: number,
): { state: StreamState; result: AddPartResult } {
  const reject = (status: 409 | 410 | 422, reason: string) => ({
    state,
    result: { kind: 'rejected', status, reason } as const,
  });
  const session = state.session;
  if (!session || session.id !== upload.sessionId || session.endedAt !== null) {
    return reject(410, `session ${upload.sessionId} is not publishing`);
  }
  const r = state.renditions[upload.rendition];
  if (!r?.inits[session.id]) return reject(409, `rendition ${upload.rendition} has no init segment yet`);
  const partTarget = state.config?.partTarget ?? 0;
  if (!(upload.duration > 0) || upload.duration > partTarget + PART_DURATION_TOLERANCE) {
    return reject(422, `part duration ${upload.duration}s is outside (0, PART-TARGET ${partTarget}s]`);
  }

  const existing = findSegment(r, upload.msn)?.parts[upload.part];
  const held = r.pending.find((p) => p.msn === upload.msn && p.part === upload.part);
  const recorded = existing && findSegment(r, upload.msn)?.sessionId === session.id ? existing : held;
  if (recorded) {
    return recorded.size === upload.size
      ? { state, result: { kind: 'duplicate' } }
      : reject(409, `part ${upload.msn}.${upload.part} already recorded with ${recorded.size} bytes`);
  }

  const expected = nextPosition(r, session.id, session.firstMsn);
  const order = compare(upload, expected);
  if (order < 0) {
    return reject(
      409,
      `timeline break: ${upload.msn}.${upload.part} is behind ${expected.msn}.${expected.part}`,
    );
  }
  const asPending: PendingPart = {
    msn: upload.msn,
    part: upload.part,
    sessionId: session.id,
    segmentEnd: upload.segmentEnd,
    duration: upload.duration,
    independent: upload.independent,
    programDateTime: upload.programDateTime,
    size: upload.size,
  };
  if (order > 0) {
    const ahead =
      upload.msn === expected.msn
        ? upload.part - expected.part
        : upload.msn === expected.msn + 1
          ? upload.part + 1
          : Infinity;
    if (ahead > PENDING_WINDOW || r.pending.length >= PENDING_WINDOW) {
      return reject(
        409,
        `part ${upload.msn}.${upload.part} is too far ahead of ${expected.msn}.${expected.part}`,
      );
    }
    const next = { ...r, pending: [...r.pending, asPending] };
    return {
      state: { ...state, renditions: { ...state.renditions, [r.id]: next } },
      result: { kind: 'pending' },
    };
  }

  // Commit this part, then every held part that now follows on.
  let rendition = r;
  let targetDuration = state.targetDuration;
  const committed: Position[] = [];
  let candidate: PendingPart | undefined = asPending;
  let pending = r.pending;
  while (candidate) {
    const appended = append(rendition, candidate);
    rendition = appended.rendition;
    if (appended.closed)
      targetDuration = Math.max(targetDuration, Math.round(segmentDuration(appended.closed)));
    committed.push({ msn: candidate.msn, part: candidate.part });
    const want = nextPosition(rendition, session.id, session.firstMsn);
    candidate = pending.find((p) => p.msn === want.msn && p.part === want.part);
    if (candidate) pending = pending.filter((p) => p !== candidate);
  }
  const pruned: number[] = [];
  const completeCount = rendition.segments.filter((s) => s.complete).length;
  let segments = rendition.segments;
  let prunedDiscontinuities = rendition.prunedDiscontinuities;
  for (let excess = completeCount - RETAINED_SEGMENTS; excess > 0; excess--) {
    const [oldest, ...rest] = segments;
    if (!oldest) break;
    pruned.push(oldest.msn);
    if (oldest.discontinuity) prunedDiscontinuities++;
    segments = rest;
  }
  rendition = { ...rendition, segments, pending, prunedDiscontinuities };
  return {
    state: {
      ...state,
      targetDuration,
      lastPublishAt: now,
      renditions: { ...state.renditions, [r.id]: rendition },
    },
    result: { kind: 'committed', committed, pruned },
  };
}

function compare(a: Position, b: Position): number {
  return a.msn === b.msn ? a.part - b.part : a.msn - b.msn;
}

/** Appends a part at the expected position; returns the segment it closed, if any. */
function append(r: RenditionState, p: PendingPart): { rendition: RenditionState; closed: Segment | null } {
  const record: PartRecord = {
    duration: p.duration,
    independent: p.independent,
    programDateTime: p.programDateTime,
    size: p.size,
  };
  const segments = r.segments.slice();
  let segment: Segment;
  if (p.part === 0) {
    const previous = segments.at(-1);
    // RFC 8216bis 4.4.4.3: EXT-X-DISCONTINUITY where the encoding/timeline changes: a new session's first segment.
    const discontinuity = previous !== undefined && previous.sessionId !== p.sessionId;
    segment = { msn: p.msn, sessionId: p.sessionId, discontinuity, parts: [record], complete: p.segmentEnd };
    segments.push(segment);
  } else {
    const open = segments.at(-1);
    if (!open) throw new Error('append: no open segment');
    segment = { ...open, parts: [...open.parts, record], complete: p.segmentEnd };
    segments[segments.length - 1] = segment;
  }
  return { rendition: { ...r, segments }, closed: segment.complete ? segment : null };
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
