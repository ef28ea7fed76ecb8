/**
 * A stream's live state as plain data, and the reducers that change it. No clock, env or I/O: every reducer
 * takes `now` (epoch ms) and returns the next state plus a typed result, so Node tests can run them and the
 * Durable Object (stream-do.ts) stays a thin shell that persists and wakes waiters.
 *
 * Part timeline rules live in timeline.ts (addPart); this file holds the types and the session lifecycle.
 */
import type { IngestProtocol, IngestRole, StreamConfig } from '../contract/ingest.ts';

export type StreamStatus = 'idle' | 'live' | 'ended';

/** One part as the playlist needs it. Seconds for durations, epoch ms for dates, bytes for sizes. */
export interface PartRecord {
  duration: number;
  independent: boolean;
  programDateTime: number;
  size: number;
}

/** A media segment of one rendition: its parts in order. `complete` once its last part (or its session) ended. */
export interface Segment {
  msn: number;
  sessionId: string;
  /** First segment of a session that follows earlier media: EXT-X-DISCONTINUITY before it. */
  discontinuity: boolean;
  parts: PartRecord[];
  complete: boolean;
}

/** A part uploaded ahead of a gap (pipelined uploads), committed when the gap fills. */
export interface PendingPart extends PartRecord {
  msn: number;
  part: number;
  sessionId: string;
  segmentEnd: boolean;
}

export interface InitRecord {
  codecs: string[];
  width?: number;
  height?: number;
  /** Frames per second, from the `ingest-frame-rate` header. */
  frameRate?: number;
  size: number;
}

export interface RenditionState {
  id: string;
  /** Retained segments, oldest first; the last one may be open (`complete: false`). */
  segments: Segment[];
  pending: PendingPart[];
  /** Init segment per session id. */
  inits: Record<string, InitRecord>;
  /** Discontinuities on segments pruned from `segments`: the base of EXT-X-DISCONTINUITY-SEQUENCE. */
  prunedDiscontinuities: number;
}

export interface SessionInfo {
  id: string;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  role: IngestRole;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms when the encoder disconnected (endSession); null while publishing. */
  endedAt: number | null;
  endReason: string | null;
  firstMsn: number;
}

export interface StreamState {
  streamId: string | null;
  config: StreamConfig | null;
  status: StreamStatus;
  session: SessionInfo | null;
  /** Epoch ms after which the stream ends (EXT-X-ENDLIST) unless a new session starts; null when none. */
  reconnectDeadline: number | null;
  /** Seconds; never decreases (RFC 8216bis 4.4.3.1: EXTINF rounded to nearest integer <= TARGETDURATION). */
  targetDuration: number;
  /** Epoch ms of the last committed part. */
  lastPublishAt: number | null;
  renditions: Record<string, RenditionState>;
}

/** Complete segments kept in the playlist: 12 (about 24 s at 2 s segments), so a delta update can skip some. */
export const PLAYLIST_SEGMENTS = 12;
/** Segment metadata kept beyond the playlist window, for whole-segment URL lookups by late viewers. */
export const RETAINED_SEGMENTS = 40;

export function emptyState(): StreamState {
  return {
    streamId: null,
    config: null,
    status: 'idle',
    session: null,
    reconnectDeadline: null,
    targetDuration: 0,
    lastPublishAt: null,
    renditions: {},
  };
}

export interface StartSessionInput {
  streamId: string;
  sessionId: string;
  config: StreamConfig;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  role: IngestRole;
}

export type StartSessionResult =
  | { ok: true; firstMsn: number }
  | { ok: false; code: 'already-live'; detail: string };

/** Media sequence number after every segment any rendition has recorded (0 for a new stream). */
export function nextStreamMsn(state: StreamState): number {
  let next = 0;
  for (const r of Object.values(state.renditions)) {
    const last = r.segments.at(-1);
    if (last) next = Math.max(next, last.msn + 1);
  }
  return next;
}

/**
 * Starts a publishing session. Refused while another session is publishing. A session whose encoder
 * disconnected (inside the reconnect window), or a stream that already ended, is continued: the new session
 * takes the next msn and its first segment carries EXT-X-DISCONTINUITY (RFC 8216bis 4.4.4.3), so players
 * that kept the playlist simply carry on and the media sequence never goes backwards.
 */
export function startSession(
  state: StreamState,
  input: StartSessionInput,
  now: number,
): { state: StreamState; result: StartSessionResult } {
  const current = state.session;
  if (current && current.endedAt === null) {
    if (current.id === input.sessionId) return { state, result: { ok: true, firstMsn: current.firstMsn } };
    return {
      state,
      result: {
        ok: false,
        code: 'already-live',
        detail: `session ${current.id} (${current.protocol} from ${current.remoteAddress}) is publishing`,
      },
    };
  }
  const firstMsn = nextStreamMsn(state);
  const segmentTarget = Math.ceil(input.config.segmentTarget);
  const session: SessionInfo = {
    id: input.sessionId,
    protocol: input.protocol,
    remoteAddress: input.remoteAddress,
    relayId: input.relayId,
    role: input.role,
    startedAt: now,
    endedAt: null,
    endReason: null,
    firstMsn,
  };
  const next: StreamState = {
    ...state,
    streamId: input.streamId,
    config: input.config,
    status: 'live',
    session,
    reconnectDeadline: null,
    targetDuration: Math.max(state.targetDuration, segmentTarget),
  };
  return { state: next, result: { ok: true, firstMsn } };
}

export type EndSessionResult =
  | { kind: 'ended'; reconnectDeadline: number }
  | { kind: 'not-current' }
  | { kind: 'already-ended' };

/**
 * The encoder disconnected: open segments close as they are (a shorter last segment is valid), parts held
 * for a gap are dropped, and the stream waits `reconnectWindow` seconds for a new session before it ends.
 */
export function endSession(
  state: StreamState,
  sessionId: string,
  reason: string,
  now: number,
): { state: StreamState; result: EndSessionResult } {
  const session = state.session;
  if (!session || session.id !== sessionId) return { state, result: { kind: 'not-current' } };
  if (session.endedAt !== null) return { state, result: { kind: 'already-ended' } };
  const renditions: Record<string, RenditionState> = {};
  for (const [id, r] of Object.entries(state.renditions)) {
    const segments = r.segments
      .filter((s) => s.complete || s.parts.length > 0)
      .map((s) => (s.complete ? s : { ...s, complete: true }));
    renditions[id] = { ...r, segments, pending: r.pending.filter((p) => p.sessionId !== sessionId) };
  }
  const reconnectDeadline = now + (state.config?.reconnectWindow ?? 0) * 1000;
  return {
    state: {
      ...state,
      session: { ...session, endedAt: now, endReason: reason },
      renditions,
      reconnectDeadline,
    },
    result: { kind: 'ended', reconnectDeadline },
  };
}

/** The reconnect window passed with no new session: the stream ends (EXT-X-ENDLIST, RFC 8216bis 4.4.3.4). */
export function expireReconnect(state: StreamState, now: number): { state: StreamState; ended: boolean } {
  if (state.reconnectDeadline === null || now < state.reconnectDeadline) return { state, ended: false };
  return { state: { ...state, status: 'ended', reconnectDeadline: null }, ended: true };
}

export type PutInitResult = { kind: 'stored' } | { kind: 'gone'; detail: string };

/** Records a rendition's init segment for the live session (a rendition appears with its first init). */
export function putInit(
  state: StreamState,
  sessionId: string,
  rendition: string,
  init: InitRecord,
): { state: StreamState; result: PutInitResult } {
  const session = state.session;
  if (!session || session.id !== sessionId || session.endedAt !== null) {
    return { state, result: { kind: 'gone', detail: `session ${sessionId} is not publishing` } };
  }
  const existing = state.renditions[rendition] ?? {
    id: rendition,
    segments: [],
    pending: [],
    inits: {},
    prunedDiscontinuities: 0,
  };
  const next: RenditionState = { ...existing, inits: { ...existing.inits, [sessionId]: init } };
  return {
    state: { ...state, renditions: { ...state.renditions, [rendition]: next } },
    result: { kind: 'stored' },
  };
}

/** Renditions that have an init segment for the current (or last) session, in a stable order. */
export function activeRenditions(state: StreamState): RenditionState[] {
  const sessionId = state.session?.id;
  if (!sessionId) return [];
  return Object.values(state.renditions)
    .filter((r) => r.inits[sessionId])
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function segmentDuration(segment: Segment): number {
  let total = 0;
  for (const p of segment.parts) total += p.duration;
  return total;
}
