/**
 * The stream object's commands as pure reducers: `(state, command, now) -> { state, result, effects }`.
 * Each wraps the domain reducers (sessions.ts, parts.ts, failover.ts) and says, as plain data, what the shell
 * (stream-do.ts) must do besides persisting the new state: wake waiters, push to replicas, archive an event,
 * send notices and webhooks, tell the registry, set the one alarm. The shell decides nothing; tests run these in Node.
 */
import { type IngestRole, SOURCE_RENDITION } from '../contract/ingest.ts';
import { pushDelayMs } from '../fanout/push-timing.ts';
import { alertFromEndReason, type RaisedAlert } from '../monitoring/alerts.ts';
import type { WebhookEventType } from '../webhooks/events.ts';
import { evaluate } from './failover.ts';
import { findSession, type InitRecord, type StreamState, type StreamStatus } from './model.ts';
import type { InputRef, StreamNotice } from './notices.ts';
import { type AddPartResult, addPart, type PartUpload } from './parts.ts';
import { alarmToSet, deferLateAlarm } from './scheduler.ts';
import {
  type EndSessionResult,
  endSession,
  expireReconnect,
  type PutInitResult,
  putInit,
  type StartSessionInput,
  type StartSessionResult,
  startSession,
} from './sessions.ts';

export type Effect =
  /** Requests held for media (waiters.ts) check again: the published timeline moved. */
  | { type: 'wake-waiters' }
  /**
   * The stream's replicas get the new playlist state, all renditions in one push (src/fanout/feed.ts), now or
   * within `delayMs` when the other renditions' copies of the part are still due (src/fanout/push-timing.ts).
   */
  | { type: 'push-replicas'; delayMs: number }
  | { type: 'save-init'; rendition: string; sessionId: string; init: InitRecord }
  /** An event ENDLIST closed, replaced by a new one: keep it whole so its playlists stay servable. */
  | { type: 'archive-event'; event: StreamState; at: number }
  | { type: 'notice'; notice: StreamNotice }
  | { type: 'webhook'; event: WebhookEventType; data: Record<string, unknown> }
  | { type: 'registry-status'; status: StreamStatus; at: number }
  /** The one storage alarm (scheduler.ts), epoch ms. */
  | { type: 'set-alarm'; at: number }
  /** Monitoring: an input's session began (its alerts start afresh). */
  | { type: 'input-started'; sessionId: string }
  /** Monitoring: a part's first sample at the relay to committed here, ms. */
  | { type: 'commit-latency'; ms: number };

export interface Step<R> {
  state: StreamState;
  result: R;
  effects: Effect[];
}

/** What the shell knows besides the state: the alarm it set (epoch ms, null when none). */
export interface ShellView {
  alarmAt: number | null;
}

export function startSessionCommand(
  state: StreamState,
  input: StartSessionInput,
  now: number,
  shell: ShellView,
): Step<StartSessionResult> {
  const { state: next, result } = startSession(state, input, now);
  if (!result.ok || next === state) return { state, result, effects: [] };
  const effects: Effect[] = [];
  if (result.archived) effects.push({ type: 'archive-event', event: result.archived, at: now });
  const base = { streamId: input.streamId, eventId: result.eventId, at: now };
  if (result.takenOver) {
    const input = refOf(state, result.takenOver);
    effects.push(
      notice({ ...base, type: 'stream.disconnected', input, reason: 'taken over by a new session' }),
    );
  }
  effects.push(...settle(state, next, now, shell));
  const { sessionId, role, protocol, remoteAddress, relayId } = input;
  const connected = { sessionId, role, protocol, remoteAddress, relayId };
  effects.push(notice({ ...base, type: 'stream.connected', input: connected, takenOver: result.takenOver }));
  if (state.status !== 'live') effects.push({ type: 'registry-status', status: 'live', at: now });
  effects.push({ type: 'input-started', sessionId });
  return { state: next, result, effects };
}

export function putInitCommand(
  state: StreamState,
  command: { sessionId: string; rendition: string; init: InitRecord },
): Step<PutInitResult> {
  const { state: next, result } = putInit(state, command.sessionId, command.rendition, command.init);
  if (result.kind !== 'stored') return { state, result, effects: [] };
  return { state: next, result, effects: [{ type: 'save-init', ...command }] };
}

export function addPartCommand(
  state: StreamState,
  upload: PartUpload,
  now: number,
  shell: ShellView,
): Step<AddPartResult> {
  const { state: next, result } = addPart(state, upload, now);
  if (result.kind === 'rejected') return { state, result, effects: [] };
  // Pending and duplicate parts publish nothing, but the input's activity moved (failover.ts): persist it and
  // re-arm the alarm (evaluate may still have switched inputs: then waiters must wake).
  const effects = settle(state, next, now, shell);
  // Part complete at the relay (first sample's wall clock + duration) to advertised here: the source's media
  // parts only. A rung's trail the source by its transcode (the relay reports that lag itself, health.ts
  // RungHealth.lagMs), and a gap part is no media at all.
  if (result.kind === 'committed' && upload.rendition === SOURCE_RENDITION && !upload.gap) {
    effects.push({ type: 'commit-latency', ms: now - upload.programDateTime - upload.duration * 1000 });
  }
  return { state: next, result, effects };
}

export function endSessionCommand(
  state: StreamState,
  command: { sessionId: string; reason: string },
  now: number,
  shell: ShellView,
): Step<EndSessionResult> {
  const { sessionId, reason } = command;
  const { state: next, result } = endSession(state, sessionId, reason, now);
  if (result.kind !== 'ended') return { state, result, effects: [] };
  const effects = settle(state, next, now, shell);
  if (next.streamId && next.eventId) {
    const input = refOf(state, sessionId);
    const base = { streamId: next.streamId, eventId: next.eventId, at: now };
    effects.push(notice({ ...base, type: 'stream.disconnected', input, reason }));
  }
  const refused = alertFromEndReason(reason);
  if (refused) {
    const data = { sessionId, eventId: next.eventId, code: refused.code, detail: refused.detail };
    effects.push({ type: 'webhook', event: 'stream.errored', data });
  }
  return { state: next, result, effects };
}

/** The alarm fired at `now` (it was set for `shell.alarmAt`): fail over, or end the event. */
export function alarmCommand(state: StreamState, now: number, shell: ShellView): Step<{ ended: boolean }> {
  const later = deferLateAlarm(state, shell.alarmAt, now);
  if (later !== null) return { state, result: { ended: false }, effects: [{ type: 'set-alarm', at: later }] };
  const { state: next, ended } = expireReconnect(evaluate(state, now).state, now);
  // The alarm that fired is spent: whatever comes next is set afresh, even when nothing changed.
  const effects = settle(state, next, now, { alarmAt: null });
  const at = alarmToSet(null, next, now);
  if (next === state && at !== null) effects.push({ type: 'set-alarm', at });
  if (ended && next.streamId && next.eventId) {
    // RFC 8216bis 6.2.5.2: a server MUST ignore _HLS_msn/_HLS_part once the playlist has EXT-X-ENDLIST.
    effects.push(notice({ type: 'stream.ended', streamId: next.streamId, eventId: next.eventId, at: now }));
    effects.push({ type: 'registry-status', status: 'ended', at: now });
  }
  return { state: next, result: { ended }, effects };
}

/**
 * The effects every state change brings: waiters wake when the state moved, each new input switch is a
 * `stream.failover` notice, and the alarm is re-armed when the next deadline moved earlier.
 */
function settle(before: StreamState, after: StreamState, now: number, shell: ShellView): Effect[] {
  const effects: Effect[] = [];
  if (after === before) return effects;
  effects.push({ type: 'wake-waiters' });
  const delayMs = pushDelayMs(before, after);
  if (delayMs !== null) effects.push({ type: 'push-replicas', delayMs });
  if (after.streamId && after.eventId) {
    for (const x of after.switches.filter((s) => !before.switches.includes(s))) {
      const base = { streamId: after.streamId, eventId: after.eventId, at: x.at };
      effects.push(notice({ ...base, type: 'stream.failover', from: x.from, to: x.to, reason: x.reason }));
    }
  }
  const at = alarmToSet(shell.alarmAt, after, now);
  if (at !== null) effects.push({ type: 'set-alarm', at });
  return effects;
}

function notice(n: StreamNotice): Effect {
  return { type: 'notice', notice: n };
}

function refOf(state: StreamState, sessionId: string): InputRef {
  const role: IngestRole = findSession(state, sessionId)?.role ?? 'primary';
  return { sessionId, role };
}

/**
 * A relay report raised alerts for one input: each becomes a `stream.errored` webhook naming the input, the
 * event, the alert's code and, for a ladder rung's alert, the rendition.
 */
export function raisedAlertEffects(
  raised: readonly RaisedAlert[],
  input: { sessionId: string; role: IngestRole },
  eventId: string | null,
): Effect[] {
  return raised.map((a) => ({
    type: 'webhook',
    event: 'stream.errored',
    data: {
      sessionId: input.sessionId,
      role: input.role,
      eventId,
      code: a.code,
      detail: a.detail,
      ...(a.rendition ? { rendition: a.rendition } : {}),
    },
  }));
}
