/**
 * Whole-segment lookups on a replica's view (view.ts): the view holds the playlist window, so a segment is
 * found there, is certainly absent, may have landed since the view (ask again after a catch-up), or is older
 * than the window (only the stream object still knows it: its retained segments and archived events). Pure.
 */
import { findSession, renditionOf } from '../stream/model.ts';
import type { PartRef } from '../stream/reads.ts';
import { segmentParts } from '../stream/reads.ts';
import { findPublished } from '../stream/timeline.ts';
import type { ReplicaView } from './view.ts';

/** A segment's parts (reads.ts `segmentParts`), or that it is an EXT-X-GAP segment. */
export type SegmentParts = { partSizes: number[] } | { gap: true };

export type SegmentLookup =
  | { kind: 'found'; info: SegmentParts }
  | { kind: 'absent' }
  | { kind: 'unknown' }
  | { kind: 'ask-stream-object' };

/** `ref.part` is the segment's first published part (0, or where a failover joined). */
export function segmentFromView(view: ReplicaView | null, ref: PartRef): SegmentLookup {
  if (!view) return { kind: 'unknown' };
  const { state } = view;
  const info = segmentParts([state], ref.rendition, ref.sessionId, ref.msn, ref.part);
  if (info) return { kind: 'found', info };
  if (!findSession(state, ref.sessionId)) {
    // A session of an ended event, one this view has not seen yet, or (a DVR window) one of this event that
    // the state no longer keeps, whose segments the recording index has.
    const older = view.archivedEventIds.length > 0 || (state.config?.dvrWindow ?? 0) > 0;
    return older ? { kind: 'ask-stream-object' } : { kind: 'unknown' };
  }
  const r = renditionOf(state, ref.rendition);
  if (!r) return { kind: 'unknown' };
  const segment = findPublished(r, ref.sessionId, ref.msn);
  if (segment) return segment.complete ? { kind: 'absent' } : { kind: 'unknown' };
  // Older than the window (or the session's segments all are): the stream object retains more.
  const oldest = r.segments.find((s) => s.sessionId === ref.sessionId);
  if (!oldest || ref.msn < oldest.localMsn) return { kind: 'ask-stream-object' };
  return { kind: 'unknown' };
}
