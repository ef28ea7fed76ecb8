/**
 * A stream's live state as plain data (what its Durable Object holds) and the lookups every module of this
 * room shares. Types and pure queries only: the reducers that change the state live in sessions.ts (session
 * lifecycle), parts.ts (a part lands), projection.ts (the published timeline) and failover.ts (which input is
 * published); the imports run one way: model <- timeline, alignment <- projection <- failover <- sessions, parts <-
 * commands <- stream-do.
 *
 * Two numberings (issue 6): each relay session cuts its own timeline, numbered session-locally (`localMsn`,
 * what the relay uploads and what media URIs and R2 keys carry), while the playlist publishes one timeline
 * whose `msn` (EXT-X-MEDIA-SEQUENCE) stays monotonic and gap-free across reconnects and failovers within an
 * event. Every session's parts land in its own `SessionTimeline`; projection.ts projects the active session's
 * onto the published segments, failover.ts decides which session is active.
 */
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import type { StreamConfig } from '../contract/stream-config.ts';

export type StreamStatus = 'idle' | 'live' | 'ended';

/** One part as the playlist needs it. Seconds for durations, epoch ms for dates, bytes for sizes. */
export interface PartRecord {
  duration: number;
  independent: boolean;
  programDateTime: number;
  size: number;
  /**
   * No media in this rendition for this part (a failed rung's `ingest-gap`, or a rung's part the published
   * timeline had to close without): size 0, nothing in R2, advertised GAP=YES (RFC 8216bis 4.4.4.9). Set only
   * when true, so stored rows of plain parts stay as they were.
   */
  gap?: true;
}

export function isGap(p: PartRecord): boolean {
  return p.gap === true;
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

/**
 * One session's own timeline in one rendition: a short ring of its latest segments and parts held for a gap.
 * (The relay's "track" is an elementary stream; this is not one.)
 */
export interface InputTrack {
  sessionId: string;
  recent: LocalSegment[];
  pending: PendingPart[];
}

/**
 * Where the published timeline joined the active session, in every rendition at once (one join decision per
 * stream, made on the source rendition's keyframe): local segment `localMsn`, from local part `localPart` on,
 * was published as `msn`. Renditions are cut segment for segment and part for part, so the same local numbers
 * are the same media time in each, and the same published msn stays the same media time in every rendition.
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
  /**
   * Nominal peak bits per second of a ladder rung (`ingest-bandwidth`): the multivariant's BANDWIDTH until the
   * rendition is measured. Absent for the source, which the relay leaves to measurement.
   */
  bandwidth?: number;
  /** The video carries CEA-608/708 captions (`ingest-closed-captions`); absent: unknown, treated as none. */
  closedCaptions?: boolean;
  /** On a source init: the rungs the session will upload (`ingest-renditions`); absent: none. */
  ladder?: string[];
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
  /** Per live session: its own timeline in this rendition. */
  tracks: Record<string, InputTrack>;
}

export interface SessionInfo {
  id: string;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  /**
   * The issued relay credential behind the session (src/registry/relays.ts): its revocation ends the session
   * (relay-gate.ts). Null or absent (sessions stored before issue 16) for the shared INGEST_TOKEN.
   */
  relayCredential?: string | null;
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
  /** Null while the active session has not been joined yet (waiting for its next source keyframe). */
  join: Attachment | null;
}

/** Complete segments kept in the playlist: 12 (about 24 s at 2 s segments), so a delta update can skip some. */
export const PLAYLIST_SEGMENTS = 12;
/** Segment metadata kept beyond the playlist window, for whole-segment URL lookups by late viewers. */
export const RETAINED_SEGMENTS = 40;
/** Local segments kept per session: enough to join a standby from a keyframe at or before the switch. */
export const TRACK_SEGMENTS = 8;
export const SWITCH_HISTORY = 20;
/** Ended sessions kept for health and late part lookups. */
export const ENDED_SESSIONS_KEPT = 2;
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
    join: null,
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

/** Media sequence number after every segment any rendition has published (0 for a new stream). */
export function nextStreamMsn(state: StreamState): number {
  let next = 0;
  for (const r of Object.values(state.renditions)) {
    const last = r.segments.at(-1);
    if (last) next = Math.max(next, last.msn + 1);
  }
  return next;
}

export function emptyRendition(id: string): RenditionState {
  return { id, segments: [], inits: {}, prunedDiscontinuities: 0, tracks: {} };
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

/** The published timeline waits to join the active session afresh (after a switch or an end). */
export function detachAll(state: StreamState): StreamState {
  return state.join === null ? state : { ...state, join: null };
}

export function pruneSessions(sessions: SessionInfo[]): SessionInfo[] {
  const ended = sessions.filter((s) => s.endedAt !== null);
  const drop = new Set(ended.slice(0, Math.max(0, ended.length - ENDED_SESSIONS_KEPT)).map((s) => s.id));
  return sessions.filter((s) => !drop.has(s.id));
}
