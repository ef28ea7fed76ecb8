/**
 * A stream's live state as plain data, and the session reducers that change it. No clock, env or I/O: every
 * reducer takes `now` (epoch ms) and returns the next state plus a typed result, so tests can step time and
 * the Durable Object (stream-do.ts) stays a thin shell that persists and wakes waiters.
 *
 * Two numberings (issue 6): each relay session cuts its own timeline, numbered session-locally (`localMsn`,
 * what the relay uploads and what media URIs and R2 keys carry), while the playlist publishes one timeline
 * whose `msn` (EXT-X-MEDIA-SEQUENCE) stays monotonic and gap-free across reconnects and failovers. Every
 * session's parts land in its own `InputTrack`; publish.ts projects the active session's track onto the
 * published segments, failover.ts decides which session is active.
 *
 * Part timeline rules live in timeline.ts (addPart).
 */
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import {
  eventConfig,
  readStreamConfig,
  type StreamConfig,
  type StreamConfigInput,
} from '../contract/stream-config.ts';
import { evaluate } from './failover.ts';
import { closeOpenSegments } from './publish.ts';

export type StreamStatus = 'idle' | 'live' | 'ended';

/** One part as the playlist needs it. Seconds for durations, epoch ms for dates, bytes for sizes. */
export interface PartRecord {
  duration: number;
  independent: boolean;
  programDateTime: number;
  size: number;
}

/** A published media segment of one rendition: its parts in order. `complete` once its last part landed. */
export interface Segment {
  /** Published media sequence number. */
  msn: number;
  sessionId: string;
  /** The session's own number for this segment: what its URIs and R2 keys carry. */
  localMsn: number;
  /**
   * Local index of the first published part: 0, except for the segment a failover joined at a keyframe inside
   * a local segment (publish.ts `joinPoint`); then the published segment is local parts `firstPart`.. only,
   * named by its own URI (src/contract/playback.ts). Published part i is local part `firstPart + i`.
   */
  firstPart: number;
  /** First segment after a source change (reconnect, failover): EXT-X-DISCONTINUITY before it. */
  discontinuity: boolean;
  /** Parts with program-date-time as published (the session's PDT offset applied). */
  parts: PartRecord[];
  complete: boolean;
}

/** A segment as one session cut it, in its own numbering (`InputTrack.recent`). PDT as the relay sent it. */
export interface LocalSegment {
  localMsn: number;
  parts: PartRecord[];
  complete: boolean;
}

/** A part uploaded ahead of a gap (pipelined uploads), committed when the gap fills. Local numbering. */
export interface PendingPart extends PartRecord {
  msn: number;
  part: number;
  sessionId: string;
  segmentEnd: boolean;
}

/** One session's timeline in one rendition: a short ring of its latest segments and parts held for a gap. */
export interface InputTrack {
  sessionId: string;
  recent: LocalSegment[];
  pending: PendingPart[];
}

/**
 * Where the published timeline joined the active session: its local segment `localMsn`, from local part
 * `localPart` (a keyframe) on, was published as `msn`.
 */
export interface Attachment {
  sessionId: string;
  localMsn: number;
  localPart: number;
  msn: number;
  /** Milliseconds added to the session's PDT so published PDT never goes backwards (0 when clocks agree). */
  pdtOffset: number;
  /** The joining segment follows earlier media: EXT-X-DISCONTINUITY. */
  discontinuity: boolean;
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
  /** Published segments, oldest first; the last one may be open (`complete: false`). */
  segments: Segment[];
  /** Init segment per session id. */
  inits: Record<string, InitRecord>;
  /** Discontinuities on segments pruned from `segments`: the base of EXT-X-DISCONTINUITY-SEQUENCE. */
  prunedDiscontinuities: number;
  /** Per live session: its own timeline. */
  tracks: Record<string, InputTrack>;
  /** Null while the active session has not been joined yet (waiting for its next keyframe). */
  attached: Attachment | null;
}

export interface SessionInfo {
  id: string;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  role: IngestRole;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms when the encoder disconnected (endSession) or the session was taken over; null while publishing. */
  endedAt: number | null;
  endReason: string | null;
  /** The number the relay starts its local msn at. */
  firstMsn: number;
  /** Epoch ms (Worker clock) of the last part this session delivered; null before its first. */
  lastPartAt: number | null;
  /** Epoch ms since which parts have arrived without a gap longer than `failoverTimeout`; null when none. */
  healthySince: number | null;
}

export type SwitchReason = 'input-stale' | 'input-ended' | 'failback';

export interface SwitchRecord {
  /** Epoch ms. */
  at: number;
  from: { sessionId: string; role: IngestRole };
  to: { sessionId: string; role: IngestRole };
  reason: SwitchReason;
}

export interface StreamState {
  streamId: string | null;
  /**
   * The current event: from the first session after the stream was idle or ended until EXT-X-ENDLIST (issue
   * 11). Null before the first publish. Its media playlists are `{rendition}/{eventId}.m3u8`.
   */
  eventId: string | null;
  /** Epoch ms the current event began. */
  eventStartedAt: number | null;
  /** The event's config, fixed when the event starts (a PATCH applies at the next event). */
  config: StreamConfig | null;
  status: StreamStatus;
  /** Live sessions (at most one per role) and the few most recently ended, oldest first. */
  sessions: SessionInfo[];
  /** The session whose media is published (or was, when every session ended); null before the first. */
  activeSessionId: string | null;
  /** Epoch ms after which the stream ends (EXT-X-ENDLIST) unless a session delivers again; null when none. */
  reconnectDeadline: number | null;
  /** Seconds; never decreases (RFC 8216bis 4.4.3.1: EXTINF rounded to nearest integer <= TARGETDURATION). */
  targetDuration: number;
  /** Epoch ms of the last published part. */
  lastPublishAt: number | null;
  renditions: Record<string, RenditionState>;
  /** The last SWITCH_HISTORY input switches, oldest first. */
  switches: SwitchRecord[];
}

/** Complete segments kept in the playlist: 12 (about 24 s at 2 s segments), so a delta update can skip some. */
export const PLAYLIST_SEGMENTS = 12;
/** Segment metadata kept beyond the playlist window, for whole-segment URL lookups by late viewers. */
export const RETAINED_SEGMENTS = 40;
/** Local segments kept per session: enough to join a standby from a keyframe at or before the switch. */
export const TRACK_SEGMENTS = 8;
export const SWITCH_HISTORY = 20;
/** Ended sessions kept for health and late part lookups. */
const ENDED_SESSIONS_KEPT = 2;
/** Defaults for configs stored before failover existed. Seconds. */
export const DEFAULT_FAILOVER_TIMEOUT = 1.5;
export const DEFAULT_FAILBACK_HOLD_OFF = 10;

/**
 * An own entry of a record keyed by names from outside (rendition ids in URLs, session ids): never a member
 * of Object.prototype, so `constructor`, `__proto__` or `toString` is an unknown name like any other (issue 11).
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A rendition of the state by id (own entries only). */
export function renditionOf(state: StreamState, id: string): RenditionState | undefined {
  return own(state.renditions, id);
}

export function emptyState(): StreamState {
  return {
    streamId: null,
    eventId: null,
    eventStartedAt: null,
    config: null,
    status: 'idle',
    sessions: [],
    activeSessionId: null,
    reconnectDeadline: null,
    targetDuration: 0,
    lastPublishAt: null,
    renditions: {},
    switches: [],
  };
}

export function failoverTimeoutMs(state: StreamState): number {
  return (state.config?.failoverTimeout ?? DEFAULT_FAILOVER_TIMEOUT) * 1000;
}

export function failbackHoldOffMs(state: StreamState): number {
  return (state.config?.failbackHoldOff ?? DEFAULT_FAILBACK_HOLD_OFF) * 1000;
}

export function findSession(state: StreamState, sessionId: string | null): SessionInfo | undefined {
  return sessionId === null ? undefined : state.sessions.find((s) => s.id === sessionId);
}

/** The session whose media the playlist carries (or last carried). */
export function activeSession(state: StreamState): SessionInfo | undefined {
  return findSession(state, state.activeSessionId);
}

export function liveSessions(state: StreamState): SessionInfo[] {
  return state.sessions.filter((s) => s.endedAt === null);
}

/** Epoch ms of a session's last sign of life: its last part, or its start before any part. */
export function lastActivity(s: SessionInfo): number {
  return s.lastPartAt ?? s.startedAt;
}

/** Publishing and delivered within `failoverTimeout` (a new session counts from its start). */
export function isHealthy(state: StreamState, s: SessionInfo, now: number): boolean {
  return s.endedAt === null && now - lastActivity(s) <= failoverTimeoutMs(state);
}

export interface StartSessionInput {
  streamId: string;
  sessionId: string;
  /** The id the event gets if this session starts one (the stream is idle or ended); unused otherwise. */
  eventId: string;
  /** The registry's current config (absent fields take their defaults). */
  config: StreamConfigInput;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  role: IngestRole;
}

export type StartSessionResult =
  | {
      ok: true;
      firstMsn: number;
      role: IngestRole;
      takenOver: string | null;
      /** The event this session publishes into. */
      eventId: string;
      /** The event that ENDLIST closed and this session's new event replaced: the shell archives it. */
      archived: StreamState | null;
      /** The event's config: what this session must cut with (a PATCH mid-event waits for the next event). */
      config: StreamConfig;
    }
  | { ok: false; code: 'already-live'; detail: string };

/** Media sequence number after every segment any rendition has published (0 for a new stream). */
export function nextStreamMsn(state: StreamState): number {
  let next = 0;
  for (const r of Object.values(state.renditions)) {
    const last = r.segments.at(-1);
    if (last) next = Math.max(next, last.msn + 1);
  }
  return next;
}

/**
 * Starts a publishing session. One live session per role: a second publish with the role of a healthy
 * session is refused; one whose same-role session went stale (no part for `failoverTimeout`: a killed relay,
 * an encoder reconnecting through another relay) takes it over, and the stale session's uploads get 410.
 * A session of the other role is accepted as the standby input (failover.ts). Inside the reconnect window the
 * event continues: the media sequence never goes backwards and the new source's first segment carries
 * EXT-X-DISCONTINUITY (RFC 8216bis 4.4.4.3). After ENDLIST a new event starts, with media playlists of its own.
 */
export function startSession(
  state: StreamState,
  input: StartSessionInput,
  now: number,
): { state: StreamState; result: StartSessionResult } {
  const same = state.sessions.find((s) => s.id === input.sessionId);
  if (same && same.endedAt === null) {
    const result = { ok: true, firstMsn: same.firstMsn, role: same.role, takenOver: null } as const;
    const eventId = state.eventId ?? input.eventId;
    const config = state.config ?? readStreamConfig(input.config);
    return { state, result: { ...result, eventId, archived: null, config } };
  }
  // A publish after ENDLIST (or the first one) starts a new event with a new live timeline: an ended
  // playlist never changes again (RFC 8216bis 6.2.1), so the ended event is handed back to be archived.
  const continuing = state.status === 'live' && state.eventId !== null && state.config !== null;
  const archived = !continuing && state.status === 'ended' ? state : null;
  // The event's config is fixed when the event starts (issue 11): a backup or a reconnect joining a live
  // event cuts with the config the event began with, not the registry's current one (fields that apply at
  // once excepted, src/contract/stream-config.ts).
  const current = readStreamConfig(input.config);
  let next: StreamState =
    continuing && state.config
      ? { ...state, config: eventConfig(state.config, current) }
      : { ...emptyState(), eventId: input.eventId, eventStartedAt: now, config: current };
  const config = next.config ?? current;
  const eventId = next.eventId ?? input.eventId;
  const rival = liveSessions(next).find((s) => s.role === input.role);
  let takenOver: string | null = null;
  if (rival) {
    if (isHealthy(next, rival, now)) {
      return {
        state,
        result: {
          ok: false,
          code: 'already-live',
          detail: `${rival.role} session ${rival.id} (${rival.protocol} from ${rival.remoteAddress}) is publishing`,
        },
      };
    }
    next = endSession(next, rival.id, 'taken over by a new session', now).state;
    takenOver = rival.id;
  }
  const firstMsn = nextStreamMsn(next);
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
    lastPartAt: null,
    healthySince: null,
  };
  const active = activeSession(next);
  const becomesActive = !active || active.endedAt !== null;
  next = {
    ...next,
    streamId: input.streamId,
    status: 'live',
    sessions: [...next.sessions, session],
    activeSessionId: becomesActive ? session.id : next.activeSessionId,
    reconnectDeadline: null,
    targetDuration: Math.max(next.targetDuration, Math.ceil(config.segmentTarget)),
  };
  if (becomesActive) next = detachAll(next);
  return {
    state: next,
    result: { ok: true, firstMsn, role: input.role, takenOver, eventId, archived, config },
  };
}

export type EndSessionResult =
  | { kind: 'ended'; reconnectDeadline: number | null }
  | { kind: 'not-current' }
  | { kind: 'already-ended' };

/**
 * An encoder disconnected (or its session was taken over): its parts held for a gap are dropped. When it was
 * the active input, the published open segment closes as it stands (a shorter last segment is valid) and a
 * healthy standby takes over at once; with no live input left the stream waits `reconnectWindow` seconds.
 */
export function endSession(
  state: StreamState,
  sessionId: string,
  reason: string,
  now: number,
): { state: StreamState; result: EndSessionResult } {
  const session = findSession(state, sessionId);
  if (!session) return { state, result: { kind: 'not-current' } };
  if (session.endedAt !== null) return { state, result: { kind: 'already-ended' } };
  const renditions: Record<string, RenditionState> = {};
  for (const [id, r] of Object.entries(state.renditions)) {
    const { [sessionId]: _dropped, ...tracks } = r.tracks;
    renditions[id] = { ...r, tracks };
  }
  const ended = { ...session, endedAt: now, endReason: reason };
  let next: StreamState = {
    ...state,
    sessions: pruneSessions(state.sessions.map((s) => (s.id === sessionId ? ended : s))),
    renditions,
  };
  if (state.activeSessionId === sessionId) next = closeOpenSegments(next);
  next = evaluate(next, now).state;
  return { state: next, result: { kind: 'ended', reconnectDeadline: next.reconnectDeadline } };
}

/**
 * The reconnect window passed with no input delivering: the stream ends (EXT-X-ENDLIST, RFC 8216bis 4.4.3.4).
 * Sessions still open (a relay that vanished without `end`) end here too.
 */
export function expireReconnect(state: StreamState, now: number): { state: StreamState; ended: boolean } {
  if (state.status !== 'live' || state.reconnectDeadline === null || now < state.reconnectDeadline) {
    return { state, ended: false };
  }
  let next = closeOpenSegments(state);
  const renditions: Record<string, RenditionState> = {};
  for (const [id, r] of Object.entries(next.renditions)) renditions[id] = { ...r, tracks: {} };
  next = {
    ...next,
    renditions,
    sessions: next.sessions.map((s) =>
      s.endedAt === null ? { ...s, endedAt: now, endReason: 'no media within the reconnect window' } : s,
    ),
    status: 'ended',
    reconnectDeadline: null,
  };
  return { state: next, ended: true };
}

export type PutInitResult = { kind: 'stored' } | { kind: 'gone'; detail: string };

/** Records a rendition's init segment for a live session (a rendition appears with its first init). */
export function putInit(
  state: StreamState,
  sessionId: string,
  rendition: string,
  init: InitRecord,
): { state: StreamState; result: PutInitResult } {
  const session = findSession(state, sessionId);
  if (!session || session.endedAt !== null) {
    return { state, result: { kind: 'gone', detail: `session ${sessionId} is not publishing` } };
  }
  const existing = renditionOf(state, rendition) ?? emptyRendition(rendition);
  const next: RenditionState = { ...existing, inits: { ...existing.inits, [sessionId]: init } };
  return {
    state: { ...state, renditions: { ...state.renditions, [rendition]: next } },
    result: { kind: 'stored' },
  };
}

export function emptyRendition(id: string): RenditionState {
  return { id, segments: [], inits: {}, prunedDiscontinuities: 0, tracks: {}, attached: null };
}

/** Renditions that have an init segment for the active (or last active) session, in a stable order. */
export function activeRenditions(state: StreamState): RenditionState[] {
  const sessionId = state.activeSessionId;
  if (!sessionId) return [];
  return Object.values(state.renditions)
    .filter((r) => own(r.inits, sessionId))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function segmentDuration(segment: { parts: PartRecord[] }): number {
  let total = 0;
  for (const p of segment.parts) total += p.duration;
  return total;
}

/** Every rendition waits to join the active session afresh (after a switch). */
export function detachAll(state: StreamState): StreamState {
  const renditions: Record<string, RenditionState> = {};
  for (const [id, r] of Object.entries(state.renditions)) renditions[id] = { ...r, attached: null };
  return { ...state, renditions };
}

function pruneSessions(sessions: SessionInfo[]): SessionInfo[] {
  const ended = sessions.filter((s) => s.endedAt !== null);
  const drop = new Set(ended.slice(0, Math.max(0, ended.length - ENDED_SESSIONS_KEPT)).map((s) => s.id));
  return sessions.filter((s) => !drop.has(s.id));
}
