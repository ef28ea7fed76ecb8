/**
 * Projects the active session's own timeline (its `InputTrack`) onto the published segments of every
 * rendition. Pure and idempotent: `syncAll` appends whatever of the active timeline is not published yet, and
 * leaves every published segment that did not change as the same object (storage.ts writes by identity).
 * ("Publish" is the relay's RTMP verb; here the word is "project".)
 *
 * One join decision per stream (issue 11): the join point is chosen once, on the source rendition's keyframe
 * (`decideJoin`), and applied to every rendition at the same local position and the same published msn, so an
 * msn is the same media time in every rendition after a failover too.
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
import { SOURCE_RENDITION } from '../contract/ingest.ts';
import { alignRenditions, padAsGaps } from './alignment.ts';
import {
  type Attachment,
  activeSession,
  detachAll,
  findSession,
  nextStreamMsn,
  own,
  RETAINED_SEGMENTS,
  type RenditionState,
  renditionOf,
  type Segment,
  type StreamState,
  segmentDuration,
} from './model.ts';

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

/**
 * The rendition a join is decided on: the source (the relay's passthrough, whose keyframes every rung
 * shares), or, for a stream without one, the first rendition (by id) that has a timeline of the session.
 */
export function joinRendition(state: StreamState, sessionId: string): RenditionState | undefined {
  const source = renditionOf(state, SOURCE_RENDITION);
  if (source && own(source.tracks, sessionId)) return source;
  return Object.values(state.renditions)
    .filter((r) => own(r.tracks, sessionId))
    .sort((x, y) => x.id.localeCompare(y.id))[0];
}

/** Where to join the active session, for every rendition at once; undefined while it has no joinable keyframe. */
export function decideJoin(state: StreamState): Attachment | undefined {
  const session = activeSession(state);
  if (!session || session.endedAt !== null) return undefined;
  const r = joinRendition(state, session.id);
  const join = r ? joinPoint(state, r, session.id) : undefined;
  if (!r || !join) return undefined;
  const end = publishedEnd(r);
  return {
    sessionId: session.id,
    localMsn: join.localMsn,
    localPart: join.part,
    msn: nextStreamMsn(state),
    pdtOffset: end === null ? 0 : Math.max(0, Math.ceil(end - join.programDateTime)),
    discontinuity: Object.values(state.renditions).some((x) => x.segments.length > 0),
  };
}

/** Appends what the joined session has in this rendition that the playlist does not. */
export function syncRendition(
  r: RenditionState,
  join: Attachment,
): { rendition: RenditionState; appended: boolean; pruned: number[] } {
  const sessionId = join.sessionId;
  const segments = r.segments.slice();
  let appended = false;
  for (const local of own(r.tracks, sessionId)?.recent ?? []) {
    if (local.localMsn < join.localMsn) continue;
    const msn = join.msn + (local.localMsn - join.localMsn);
    const index = segments.findIndex((s) => s.msn === msn);
    const existing = index >= 0 ? segments[index] : undefined;
    if (existing && existing.sessionId !== sessionId) continue;
    // Listed complete (as it stood at a close, or as gaps while the rung had not started: `followAsGaps`):
    // a listed segment never changes.
    if (existing?.complete) continue;
    // The joined segment starts at the join's keyframe: its published part i is local part firstPart + i.
    const firstPart = local.localMsn === join.localMsn ? join.localPart : 0;
    const parts = local.parts.slice(firstPart);
    const have = existing?.parts.length ?? 0;
    if (existing && have === parts.length && existing.complete === local.complete) continue;
    if (!existing && segments.length > 0 && (segments.at(-1)?.msn ?? -1) !== msn - 1) break;
    const added = parts.slice(have).map((p) => ({
      ...p,
      programDateTime: p.programDateTime + join.pdtOffset,
    }));
    const segment: Segment = {
      msn,
      sessionId,
      localMsn: local.localMsn,
      firstPart,
      discontinuity: local.localMsn === join.localMsn && join.discontinuity,
      parts: [...(existing?.parts ?? []), ...added],
      complete: local.complete,
    };
    if (existing) segments[index] = segment;
    else segments.push(segment);
    appended = appended || added.length > 0;
  }
  if (!appended && segments.length === r.segments.length) {
    return { rendition: r, appended: false, pruned: [] };
  }
  return { ...retain(r, segments), appended };
}

/** `r` with `segments`, the oldest complete ones beyond RETAINED_SEGMENTS pruned. */
function retain(r: RenditionState, kept: Segment[]): { rendition: RenditionState; pruned: number[] } {
  const segments = kept.slice();
  const pruned: number[] = [];
  let prunedDiscontinuities = r.prunedDiscontinuities;
  let complete = segments.filter((s) => s.complete).length;
  while (complete > RETAINED_SEGMENTS) {
    const oldest = segments.shift();
    if (!oldest) break;
    pruned.push(oldest.msn);
    if (oldest.discontinuity) prunedDiscontinuities++;
    if (oldest.complete) complete--;
  }
  return { rendition: { ...r, segments, prunedDiscontinuities }, pruned };
}

/**
 * A rendition published earlier in the event that the joined session does not upload (issue 12: a reconnect
 * or failover to an input with no ladder, a relay that refused it for CPU or runs without ffmpeg, or a ladder
 * without that rung): players that loaded its media playlist from the multivariant keep reloading it, and a
 * media playlist cannot go away under them. It follows the join rendition as gaps (alignment.ts), so it keeps
 * the source's msn, durations, PDT and discontinuities with EXT-X-GAP (DESIGN.md: a failed rung keeps its
 * MSNs) until an input uploads it again, joined like every rendition. The multivariant no longer lists it
 * (variants.ts lists the active session's renditions), so no new player picks it.
 *
 * A rung the session's source init names (`ladder`) but whose init has not come yet is only starting (ffmpeg's
 * first keyframe): only complete segments are padded, so its first part, a segment's part 0, still finds its
 * segment unlisted; one that never comes still keeps its MSNs, a segment at a time.
 */
function followAsGaps(
  r: RenditionState,
  reference: RenditionState,
  sessionId: string,
): { rendition: RenditionState; pruned: number[] } {
  if (r === reference || own(r.inits, sessionId) || r.segments.length === 0)
    return { rendition: r, pruned: [] };
  const coming = own(reference.inits, sessionId)?.ladder?.includes(r.id) === true;
  const upTo = coming ? { ...reference, segments: reference.segments.filter((s) => s.complete) } : reference;
  const padded = padAsGaps(r, upTo);
  return padded === r ? { rendition: r, pruned: [] } : retain(r, padded.segments);
}

/** Syncs every rendition; raises the target duration for segments that closed long. */
export function syncAll(current: StreamState, now: number): { state: StreamState; pruned: Pruned } {
  const active = activeSession(current);
  if (!active || active.endedAt !== null) return { state: current, pruned: {} };
  let state = current;
  let join = state.join?.sessionId === active.id ? state.join : null;
  if (!join) {
    join = decideJoin(state) ?? null;
    if (!join) return { state, pruned: {} };
    // Joining: each rendition's open segment closes as it stands (RFC 8216bis 4.4.4.3: the joined one follows
    // with EXT-X-DISCONTINUITY).
    state = { ...closeAll(state), join };
  }
  const renditions: Record<string, RenditionState> = {};
  const pruned: Pruned = {};
  let any = state !== current;
  let targetDuration = state.targetDuration;
  for (const [id, r] of Object.entries(state.renditions)) {
    const synced = syncRendition(r, join);
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
  const reference = renditions[joinRendition(state, join.sessionId)?.id ?? ''];
  for (const [id, r] of Object.entries(renditions)) {
    if (!reference) break;
    const followed = followAsGaps(r, reference, join.sessionId);
    if (followed.rendition === r) continue;
    renditions[id] = followed.rendition;
    any = true;
    if (followed.pruned.length > 0) pruned[id] = [...(pruned[id] ?? []), ...followed.pruned];
  }
  if (!any) return { state, pruned };
  const appended = Object.entries(renditions).some(
    ([id, r]) => r.segments !== own(current.renditions, id)?.segments,
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
  return detachAll(closeAll(state));
}

/**
 * Every rendition padded to the furthest one first (alignment.ts: a lagging rung ends at the same msn and part
 * as the source, its missing parts as gaps), then each open segment closed as it stands.
 */
function closeAll(current: StreamState): StreamState {
  const state = alignRenditions(current);
  const renditions: Record<string, RenditionState> = {};
  let changed = state !== current;
  for (const [id, r] of Object.entries(state.renditions)) {
    renditions[id] = closeOpen(r);
    changed = changed || renditions[id] !== r;
  }
  return changed ? { ...state, renditions } : current;
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
