/**
 * Projects the active session's own timeline (its `InputTrack`) onto the published segments of a rendition.
 * Pure and idempotent: `syncRendition` appends whatever of the active track is not published yet, and leaves
 * every published segment that did not change as the same object (storage.ts writes by identity).
 *
 * Joining a session (first publish, reconnect, failover, failback) happens at a keyframe of that session (an
 * INDEPENDENT part, at a segment start or inside a segment): the open published segment is closed as it
 * stands, and the joined segment carries EXT-X-DISCONTINUITY and the session's EXT-X-MAP (RFC 8216bis 4.4.4.3,
 * 4.4.4.5). A join inside local segment m publishes only m's parts from the keyframe on, as a segment of its
 * own (`Segment.firstPart`, its own URI). Published msn continue from the last published segment, so
 * EXT-X-MEDIA-SEQUENCE stays gap-free.
 *
 * Program-date-time: a joined session keeps its relay's wall clock (PDT stays tied to real time, which
 * players use to align renditions and viewers use for sync), shifted by the smallest offset that keeps PDT
 * from going back: offset = max(0, end of the last published part - PDT of the joined keyframe). The offset
 * is fixed per join, so within a session PDT still advances exactly with EXTINF. Only a relay whose clock
 * runs behind the previous one ever gets a non-zero offset.
 */
import {
  type Attachment,
  detachAll,
  findSession,
  own,
  RETAINED_SEGMENTS,
  type RenditionState,
  type Segment,
  type StreamState,
  segmentDuration,
} from './state.ts';

/** Published msn that left the retained window, per rendition (storage deletes their rows). */
export type Pruned = Record<string, number[]>;

/**
 * How far (seconds) a standby keyframe may start before the end of the published media and still be joined:
 * the two inputs are cut by different relays/encoders, so "the same moment" is only known to within a part or
 * two. A join inside this allowance repeats at most that much of the picture; a join outside it would repeat
 * more, so the next keyframe is awaited instead.
 */
export function overlapAllowance(partTarget: number): number {
  return Math.max(2 * partTarget, 0.5);
}

/** End (epoch ms, as published) of the last published part of a rendition, or null before any. */
export function publishedEnd(r: RenditionState): number | null {
  for (let i = r.segments.length - 1; i >= 0; i--) {
    const last = r.segments[i]?.parts.at(-1);
    if (last) return last.programDateTime + last.duration * 1000;
  }
  return null;
}

/** A keyframe of a session's own timeline: local part `part` of local segment `localMsn`. */
export interface JoinPoint {
  localMsn: number;
  part: number;
  /** PDT of the keyframe as the relay sent it (epoch ms). */
  programDateTime: number;
}

/**
 * The first keyframe of `track` the published timeline may join: any INDEPENDENT part (not only a segment's
 * part 0, so a failover waits at most one GOP, not one segment) that, unless the session began after the last
 * published part landed (a reconnect: nothing it sends can overlap), starts no earlier than the published end
 * minus the overlap allowance.
 */
export function joinPoint(state: StreamState, r: RenditionState, sessionId: string): JoinPoint | undefined {
  const track = own(r.tracks, sessionId);
  const session = findSession(state, sessionId);
  if (!track || !session) return undefined;
  const end = publishedEnd(r);
  const fresh = end === null || session.startedAt >= (state.lastPublishAt ?? 0);
  const allowance = overlapAllowance(state.config?.partTarget ?? 0) * 1000;
  for (const segment of track.recent) {
    for (const [part, p] of segment.parts.entries()) {
      if (!p.independent) continue;
      if (fresh || end === null || p.programDateTime >= end - allowance) {
        return { localMsn: segment.localMsn, part, programDateTime: p.programDateTime };
      }
    }
  }
  return undefined;
}

/** Appends what the active session has that the playlist does not, joining it first when needed. */
export function syncRendition(
  state: StreamState,
  r: RenditionState,
): { rendition: RenditionState; appended: boolean; pruned: number[] } {
  const sessionId = state.activeSessionId;
  const session = findSession(state, sessionId);
  if (!sessionId || !session || session.endedAt !== null)
    return { rendition: r, appended: false, pruned: [] };
  let rendition = r;
  let attached = r.attached?.sessionId === sessionId ? r.attached : null;
  if (!attached) {
    const join = joinPoint(state, r, sessionId);
    if (!join) return { rendition: r, appended: false, pruned: [] };
    const end = publishedEnd(r);
    const last = r.segments.at(-1);
    attached = {
      sessionId,
      localMsn: join.localMsn,
      localPart: join.part,
      msn: last ? last.msn + 1 : nextMsnOf(state),
      pdtOffset: end === null ? 0 : Math.max(0, Math.ceil(end - join.programDateTime)),
      discontinuity: last !== undefined,
    } satisfies Attachment;
    rendition = { ...closeOpen(r), attached };
  }
  const segments = rendition.segments.slice();
  let appended = false;
  for (const local of own(rendition.tracks, sessionId)?.recent ?? []) {
    if (local.localMsn < attached.localMsn) continue;
    const msn = attached.msn + (local.localMsn - attached.localMsn);
    const index = segments.findIndex((s) => s.msn === msn);
    const existing = index >= 0 ? segments[index] : undefined;
    if (existing && existing.sessionId !== sessionId) continue;
    // The joined segment starts at the join's keyframe: its published part i is local part firstPart + i.
    const firstPart = local.localMsn === attached.localMsn ? attached.localPart : 0;
    const parts = local.parts.slice(firstPart);
    const have = existing?.parts.length ?? 0;
    if (existing && have === parts.length && existing.complete === local.complete) continue;
    if (!existing && segments.length > 0 && (segments.at(-1)?.msn ?? -1) !== msn - 1) break;
    const added = parts.slice(have).map((p) => ({
      ...p,
      programDateTime: p.programDateTime + attached.pdtOffset,
    }));
    const segment: Segment = {
      msn,
      sessionId,
      localMsn: local.localMsn,
      firstPart,
      discontinuity: local.localMsn === attached.localMsn && attached.discontinuity,
      parts: [...(existing?.parts ?? []), ...added],
      complete: local.complete,
    };
    if (existing) segments[index] = segment;
    else segments.push(segment);
    appended = appended || added.length > 0;
  }
  if (!appended && segments.length === rendition.segments.length) {
    return { rendition, appended: false, pruned: [] };
  }
  const pruned: number[] = [];
  let prunedDiscontinuities = rendition.prunedDiscontinuities;
  let complete = segments.filter((s) => s.complete).length;
  while (complete > RETAINED_SEGMENTS) {
    const oldest = segments.shift();
    if (!oldest) break;
    pruned.push(oldest.msn);
    if (oldest.discontinuity) prunedDiscontinuities++;
    if (oldest.complete) complete--;
  }
  return { rendition: { ...rendition, segments, prunedDiscontinuities }, appended, pruned };
}

/** Syncs every rendition; raises the target duration for segments that closed long. */
export function syncAll(state: StreamState, now: number): { state: StreamState; pruned: Pruned } {
  const renditions: Record<string, RenditionState> = {};
  const pruned: Pruned = {};
  let any = false;
  let targetDuration = state.targetDuration;
  for (const [id, r] of Object.entries(state.renditions)) {
    const synced = syncRendition(state, r);
    renditions[id] = synced.rendition;
    if (synced.rendition !== r) any = true;
    if (synced.pruned.length > 0) pruned[id] = synced.pruned;
    if (synced.appended) {
      for (const s of synced.rendition.segments.slice(-3)) {
        // RFC 8216bis 4.4.3.1: EXTINF rounded to the nearest integer must not exceed TARGETDURATION.
        if (s.complete) targetDuration = Math.max(targetDuration, Math.round(segmentDuration(s)));
      }
    }
  }
  if (!any) return { state, pruned };
  const appended = Object.entries(renditions).some(
    ([id, r]) => r.segments !== own(state.renditions, id)?.segments,
  );
  return {
    state: {
      ...state,
      renditions,
      targetDuration,
      lastPublishAt: appended ? now : state.lastPublishAt,
    },
    pruned,
  };
}

/** Closes each rendition's open published segment as it stands and forgets the join (a switch or an end). */
export function closeOpenSegments(state: StreamState): StreamState {
  const renditions: Record<string, RenditionState> = {};
  for (const [id, r] of Object.entries(state.renditions)) renditions[id] = closeOpen(r);
  return detachAll({ ...state, renditions });
}

function closeOpen(r: RenditionState): RenditionState {
  const last = r.segments.at(-1);
  if (!last || last.complete) return r;
  const segments =
    last.parts.length > 0
      ? [...r.segments.slice(0, -1), { ...last, complete: true }]
      : r.segments.slice(0, -1);
  return { ...r, segments };
}

function nextMsnOf(state: StreamState): number {
  let next = 0;
  for (const r of Object.values(state.renditions)) {
    const last = r.segments.at(-1);
    if (last) next = Math.max(next, last.msn + 1);
  }
  return next;
}
