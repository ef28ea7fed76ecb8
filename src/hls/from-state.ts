/**
 * Builds playlist models (model.ts) from a stream's state. Pure: the same state gives the same playlist, so
 * rendering can move to a replica or to the Worker unchanged.
 */
import { relativeMediaUri } from '../contract/playback.ts';
import {
  activeRenditions,
  activeSession,
  isGap,
  own,
  PLAYLIST_SEGMENTS,
  type RenditionState,
  renditionOf,
  type Segment,
  type StreamState,
  segmentDuration,
} from '../stream/model.ts';
import { findSegment, lastPosition, nextListedPart } from '../stream/timeline.ts';
import { type PlaylistPosition, skipBoundary } from './directives.ts';
import type { MediaPlaylist, PartEntry, SegmentEntry } from './model.ts';

export type SkipRequest = 'YES' | 'v2' | null;

/**
 * RFC 8216bis 4.4.3.8 (EXT-X-SERVER-CONTROL) and Apple's LL-HLS authoring guidance: HOLD-BACK at least 3
 * target durations, PART-HOLD-BACK at least 3 part targets, CAN-SKIP-UNTIL at least 6 target durations.
 */
export function serverControlFor(targetDuration: number, partTarget: number) {
  return {
    canBlockReload: true,
    canSkipUntil: 6 * targetDuration,
    holdBack: 3 * targetDuration,
    partHoldBack: round3(3 * partTarget),
  };
}

export function buildMediaPlaylist(
  state: StreamState,
  renditionId: string,
  skip: SkipRequest,
): MediaPlaylist | null {
  const r = renditionOf(state, renditionId);
  const session = activeSession(state);
  const eventId = state.eventId;
  if (!r || !session || !state.config || eventId === null || r.segments.length === 0) return null;
  const targetDuration = state.targetDuration;
  const partTarget = state.config.partTarget;
  const serverControl = serverControlFor(targetDuration, partTarget);

  const complete = r.segments.filter((s) => s.complete);
  const open = r.segments.find((s) => !s.complete) ?? null;
  const windowed = complete.slice(-PLAYLIST_SEGMENTS);
  const beforeWindow = r.segments.slice(0, r.segments.length - windowed.length - (open ? 1 : 0));
  const discontinuitySequence = r.prunedDiscontinuities + beforeWindow.filter((s) => s.discontinuity).length;
  const first = windowed[0] ?? open;
  if (!first) return null;

  // RFC 8216bis 4.4.4.9: Partial Segments more than three target durations from the end of the Playlist
  // SHOULD be removed; keep parts only on segments that start within that span (the open segment included).
  const partSpan = 3 * targetDuration;
  let fromEnd = open ? segmentDuration(open) : 0;
  const withParts = new Set<number>();
  for (let i = windowed.length - 1; i >= 0; i--) {
    const s = windowed[i];
    if (!s || fromEnd >= partSpan) break;
    withParts.add(s.msn);
    fromEnd += segmentDuration(s);
  }

  // RFC 8216bis 6.2.5.1: a delta update skips the segments further than CAN-SKIP-UNTIL from the end.
  const skippedSegments =
    skip !== null && !ended(state)
      ? skipBoundary(
          windowed.map((s) => segmentDuration(s)),
          serverControl.canSkipUntil,
        )
      : 0;

  const segments: SegmentEntry[] = windowed.slice(skippedSegments).map((s) => {
    const entry: SegmentEntry = {
      msn: s.msn,
      uri: relativeMediaUri.segment(s.sessionId, s.localMsn, s.firstPart),
      duration: round6(segmentDuration(s)),
      parts: withParts.has(s.msn) ? partEntries(s) : [],
      discontinuity: s.discontinuity,
      programDateTime: s.parts[0]?.programDateTime ?? 0,
      mapUri: relativeMediaUri.init(s.sessionId),
    };
    if (isGapSegment(s)) entry.gap = true;
    return entry;
  });

  const isEnded = ended(state);
  // The hint names the active session's next part, in its own numbering, once the playlist has joined it
  // (while a switch waits for the new input's keyframe there is nothing to hint).
  // A rendition the session does not upload follows the source as gaps (projection.ts `followAsGaps`): no
  // part of it will come, so none is hinted.
  const publishing =
    session.endedAt === null &&
    !isEnded &&
    state.join?.sessionId === session.id &&
    !!own(r.inits, session.id);
  const hint = publishing ? nextListedPart(r, session, state.join) : null;

  return {
    version: 6,
    targetDuration,
    partTarget,
    mediaSequence: first.msn,
    discontinuitySequence,
    serverControl,
    segments,
    // An open segment without parts yet is a lagging rung's at a join: announced like one awaiting its join.
    openSegment: open
      ? {
          msn: open.msn,
          parts: partEntries(open),
          programDateTime: open.parts[0]?.programDateTime ?? 0,
          discontinuity: open.discontinuity,
          mapUri: relativeMediaUri.init(open.sessionId),
        }
      : awaitingJoin(state, r, isEnded),
    preloadHint: hint ? { uri: relativeMediaUri.part(session.id, hint.msn, hint.part) } : null,
    renditionReports: listedRenditions(state)
      .filter((o) => o.id !== r.id)
      .flatMap((o) => {
        const last = lastPosition(o);
        return last
          ? [{ uri: relativeMediaUri.rendition(o.id, eventId), lastMsn: last.msn, lastPart: last.part }]
          : [];
      }),
    skippedSegments,
    skipV2: skip === 'v2' && skippedSegments > 0,
    ended: isEnded,
  };
}

/**
 * The renditions the multivariant lists and every media playlist reports (4.4.5.4: a report for every other
 * rendition): those of the active session with a published part. A rung whose init arrived but whose media
 * playlist has nothing yet is left out until it has, so no listed variant answers 404.
 */
export function listedRenditions(state: StreamState): RenditionState[] {
  return activeRenditions(state).filter((r) => lastPosition(r) !== null);
}

/** Where a rendition's live edge is, for the blocking decision (directives.ts `resolveDirective`). */
export function playlistPosition(state: StreamState, renditionId: string): PlaylistPosition {
  const r = renditionOf(state, renditionId);
  const last = r ? lastPosition(r) : null;
  const lastComplete = r?.segments.findLast((s) => s.complete);
  return {
    lastMsn: last?.msn ?? lastComplete?.msn ?? -1,
    lastPart: last?.part ?? -1,
    lastCompleteMsn: lastComplete?.msn ?? -1,
    partCounts: (msn) => {
      const s = r ? findSegment(r, msn) : undefined;
      return s?.complete ? s.parts.length : undefined;
    },
    ended: ended(state),
  };
}

/**
 * While no input is joined (the active one ended and the stream waits for a reconnect, or a failover waits
 * for the standby's keyframe), the next published segment is certain to carry EXT-X-DISCONTINUITY (publish.ts
 * joins every new input with one). It is announced ahead as a part-less open segment, because hls.js already
 * places that msn after the last segment, numbered with the discontinuity count it has seen: announcing it
 * late would change an msn's discontinuity number, which RFC 8216bis 6.2.2 does not allow a server to do
 * (hls.js: fatal "discontinuity sequence mismatch"). The same holds for a rung that has not reached a join
 * decided on the source yet (its parts trail the source's): its next segment is the joined one.
 */
function awaitingJoin(state: StreamState, r: RenditionState, isEnded: boolean): MediaPlaylist['openSegment'] {
  const last = r.segments.at(-1);
  const session = activeSession(state);
  if (isEnded || !last?.complete || !session) return null;
  const join = session.endedAt === null && state.join?.sessionId === session.id ? state.join : null;
  if (join && last.msn >= join.msn) return null;
  return {
    msn: last.msn + 1,
    parts: [],
    programDateTime: 0,
    discontinuity: join ? join.discontinuity : true,
    mapUri: relativeMediaUri.init(session.id),
  };
}

export function ended(state: StreamState): boolean {
  return state.status === 'ended';
}

/**
 * A complete segment whose every part is a gap is a gap (EXT-X-GAP, RFC 8216bis 4.4.4.7): its URI holds no
 * media. A segment with media in some parts is not, though some of its parts are gaps (a rung that failed or
 * rejoined inside it): 4.4.4.9 requires GAP=YES on every part of an EXT-X-GAP segment, and its parts with media
 * were listed without GAP while it was open, which the server must not change (6.2.2: a listed Partial
 * Segment may only be removed). Its URI serves the parts with media (reads.ts `segmentParts`).
 */
function isGapSegment(s: Segment): boolean {
  return s.complete && s.parts.length > 0 && s.parts.every(isGap);
}

/**
 * Part URIs carry local numbers (published part i of a joined segment is local part firstPart + i). A part is
 * GAP=YES when it has no media, from the first playlist that lists it, and stays as it was first listed.
 */
function partEntries(s: Segment): PartEntry[] {
  return s.parts.map((p, i) => {
    const entry: PartEntry = {
      uri: relativeMediaUri.part(s.sessionId, s.localMsn, s.firstPart + i),
      duration: round6(p.duration),
      independent: p.independent,
    };
    if (isGap(p)) entry.gap = true;
    return entry;
  });
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function round3(n: number): number {
  return Math.round(n * 1e3) / 1e3;
}
