/**
 * The `addPart` reducer: a part of a live session lands in its own timeline (local numbering, held when it
 * arrives ahead of a gap), then projection.ts and failover.ts project it. Pure: `now` is an argument, the
 * result says what happened.
 */
import { type PartMeta, PENDING_WINDOW } from '../contract/ingest.ts';
import { evaluate } from './failover.ts';
import {
  failoverTimeoutMs,
  findSession,
  type InputTrack,
  isGap,
  type LocalSegment,
  own,
  type PartRecord,
  type PendingPart,
  type RenditionState,
  renditionOf,
  type SessionInfo,
  type StreamState,
  TRACK_SEGMENTS,
} from './model.ts';
import { findPublishedPart, type Position, trackNext } from './timeline.ts';

/** Seconds a part may exceed PART-TARGET by: RFC 8216bis 4.4.4.9 says <= PART-TARGET; 1 ms absorbs rounding. */
export const PART_DURATION_TOLERANCE = 0.001;

export interface PartUpload extends PartMeta {
  sessionId: string;
}

export type AddPartResult =
  | { kind: 'committed'; committed: Position[]; pruned: number[] }
  | { kind: 'pending' }
  | { kind: 'duplicate' }
  /** 403: the stream object's relay gate refused the uploading relay (relay-gate.ts). */
  | { kind: 'rejected'; status: 403 | 409 | 410 | 422; reason: string };

/**
 * Records a part of a live session in its own timeline (local numbering, held when it arrives ahead of a gap),
 * then lets publish.ts/failover.ts project it: the active session's parts are published as they land, a
 * standby's are kept in its short ring for a later switch.
 */
export function addPart(
  state: StreamState,
  upload: PartUpload,
  now: number,
): { state: StreamState; result: AddPartResult } {
  const reject = (status: 409 | 410 | 422, reason: string) => ({
    state,
    result: { kind: 'rejected', status, reason } as const,
  });
  const session = findSession(state, upload.sessionId);
  if (!session || session.endedAt !== null)
    return reject(410, `session ${upload.sessionId} is not publishing`);
  const r = renditionOf(state, upload.rendition);
  if (!r || !own(r.inits, session.id))
    return reject(409, `rendition ${upload.rendition} has no init segment yet`);
  const partTarget = state.config?.partTarget ?? 0;
  if (!(upload.duration > 0) || upload.duration > partTarget + PART_DURATION_TOLERANCE) {
    return reject(422, `part duration ${upload.duration}s is outside (0, PART-TARGET ${partTarget}s]`);
  }

  const track: InputTrack = own(r.tracks, session.id) ?? { sessionId: session.id, recent: [], pending: [] };
  const expected = lateStart(r, track, upload) ?? trackNext(track, session.firstMsn);
  const published = findPublishedPart(r, session.id, upload.msn, upload.part);
  // A gap listed at a position this session's timeline has not reached is not its record: the rendition
  // followed the source as gaps before the session's rung started (projection.ts `followAsGaps`). The part
  // goes into the session's own timeline; the listed gap stays as listed.
  const followed = published?.gap === true && compare(upload, expected) >= 0;
  const recorded =
    track.recent.find((s) => s.localMsn === upload.msn)?.parts[upload.part] ??
    (followed ? undefined : published) ??
    track.pending.find((p) => p.msn === upload.msn && p.part === upload.part);
  if (recorded) {
    // A retry whose first answer was lost: the relay is alive, so it counts as activity.
    const same = recorded.size === upload.size && (recorded.gap === true) === (upload.gap === true);
    return same
      ? { state: evaluate(delivered(state, session, now), now).state, result: { kind: 'duplicate' } }
      : reject(409, `part ${upload.msn}.${upload.part} already recorded as ${describe(recorded)}`);
  }

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
    size: upload.gap ? 0 : upload.size,
    ...(upload.gap ? { gap: true as const } : {}),
  };
  if (order > 0) {
    const ahead =
      upload.msn === expected.msn
        ? upload.part - expected.part
        : upload.msn === expected.msn + 1
          ? upload.part + 1
          : Infinity;
    if (ahead > PENDING_WINDOW || track.pending.length >= PENDING_WINDOW) {
      return reject(
        409,
        `part ${upload.msn}.${upload.part} is too far ahead of ${expected.msn}.${expected.part}`,
      );
    }
    const held = { ...track, pending: [...track.pending, asPending] };
    const rendition = { ...r, tracks: { ...r.tracks, [session.id]: held } };
    // A part held behind a slower upload still shows the input is alive: one slow request must not make the
    // only input look stale (failover.ts) and end the stream.
    const withHeld = { ...state, renditions: { ...state.renditions, [r.id]: rendition } };
    return { state: evaluate(delivered(withHeld, session, now), now).state, result: { kind: 'pending' } };
  }

  // Commit this part, then every held part that now follows on.
  let recent = track.recent;
  let pending = track.pending;
  const committed: Position[] = [];
  let candidate: PendingPart | undefined = asPending;
  while (candidate) {
    recent = appendLocal(recent, candidate);
    committed.push({ msn: candidate.msn, part: candidate.part });
    const want = trackNext({ ...track, recent }, session.firstMsn);
    candidate = pending.find((p) => p.msn === want.msn && p.part === want.part);
    if (candidate) pending = pending.filter((p) => p !== candidate);
  }
  const tracks = { ...r.tracks, [session.id]: { ...track, recent, pending } };
  const before = delivered(
    { ...state, renditions: { ...state.renditions, [r.id]: { ...r, tracks } } },
    session,
    now,
  );
  const after = evaluate(before, now).state;
  const firstKept = renditionOf(after, r.id)?.segments[0]?.msn ?? Infinity;
  const pruned = r.segments.filter((s) => s.msn < firstKept).map((s) => s.msn);
  return { state: after, result: { kind: 'committed', committed, pruned } };
}

/**
 * The session delivered an upload at `now` (committed, held or a retried duplicate): its last sign of life for
 * failover and the reconnect window. `healthySince` restarts after a silence longer than `failoverTimeout`.
 */
function delivered(state: StreamState, session: SessionInfo, now: number): StreamState {
  const gap = session.lastPartAt === null || now - session.lastPartAt > failoverTimeoutMs(state);
  const alive: SessionInfo = { ...session, lastPartAt: now, healthySince: gap ? now : session.healthySince };
  return { ...state, sessions: state.sessions.map((s) => (s.id === session.id ? alive : s)) };
}

/**
 * A rung that starts late (its ffmpeg's first frames missed the session's first segments, which the relay
 * then never uploads): its first part is a segment's part 0 right after segments the rendition listed as gaps
 * for this session (projection.ts `followAsGaps`). Its timeline starts there; otherwise it would wait for
 * parts that will never come.
 */
function lateStart(r: RenditionState, track: InputTrack, upload: PartUpload): Position | undefined {
  if (track.recent.length > 0 || upload.part !== 0) return undefined;
  const before = r.segments.filter((s) => s.sessionId === track.sessionId && s.localMsn < upload.msn);
  if (before.at(-1)?.localMsn !== upload.msn - 1) return undefined;
  const gapsOnly = before.every((s) => s.complete && s.parts.length > 0 && s.parts.every(isGap));
  return gapsOnly ? { msn: upload.msn, part: 0 } : undefined;
}

function describe(p: PartRecord): string {
  return p.gap ? 'a gap' : `${p.size} bytes`;
}

function compare(a: Position, b: Position): number {
  return a.msn === b.msn ? a.part - b.part : a.msn - b.msn;
}

/** Appends a part at the expected local position, keeping the last TRACK_SEGMENTS segments. */
function appendLocal(recent: LocalSegment[], p: PendingPart): LocalSegment[] {
  const record: PartRecord = {
    duration: p.duration,
    independent: p.independent,
    programDateTime: p.programDateTime,
    size: p.size,
    ...(p.gap ? { gap: true as const } : {}),
  };
  const next = recent.slice();
  if (p.part === 0) {
    next.push({ localMsn: p.msn, parts: [record], complete: p.segmentEnd });
  } else {
    const open = next.at(-1);
    if (!open) throw new Error('appendLocal: no open segment');
    next[next.length - 1] = { ...open, parts: [...open.parts, record], complete: p.segmentEnd };
  }
  return next.slice(-TRACK_SEGMENTS);
}
