/**
 * Session lifecycle: a publish starts a session (and, after ENDLIST or on the first publish, a new event), an
 * encoder disconnecting ends one, and the reconnect window ending ends the event (EXT-X-ENDLIST). Pure: every
 * reducer takes `now` (epoch ms) and returns the next state and a typed result.
 */
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import {
  eventConfig,
  readStreamConfig,
  type StreamConfig,
  type StreamConfigInput,
} from '../contract/stream-config.ts';
import { evaluate } from './failover.ts';
import {
  activeSession,
  detachAll,
  emptyRendition,
  emptyState,
  findSession,
  type InitRecord,
  isHealthy,
  liveSessions,
  nextStreamMsn,
  pruneSessions,
  type RenditionState,
  renditionOf,
  type SessionInfo,
  type StreamState,
} from './model.ts';
import { closeOpenSegments } from './projection.ts';

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
  /** The issued relay credential that started it (its id); null for the shared INGEST_TOKEN. */
  relayCredential?: string | null;
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
    relayCredential: input.relayCredential ?? null,
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

export type PutInitResult =
  | { kind: 'stored' }
  | { kind: 'gone'; detail: string }
  /** The relay gate refused the uploading relay (relay-gate.ts). */
  | { kind: 'refused'; detail: string };

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
