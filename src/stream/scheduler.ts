/**
 * The one alarm of a stream's Durable Object, for every deadline: an input going stale (failover, or the start
 * of the reconnect window for a relay that vanished without `end`), the reconnect window's end, and the next
 * run of a media sweep (sweep-queue.ts). Pure: the object asks when to wake and whether an alarm that fired is to
 * be trusted.
 */
import { failoverTimeoutMs, lastActivity, liveSessions, type StreamState } from './model.ts';

/**
 * An alarm this late means the object, or the whole origin, was not running when it was due (a restart, a
 * deploy): the relays' uploads failed with it, so their silence proves nothing yet.
 */
export const LATE_ALARM_MS = 3_000;
/**
 * After such an outage, how long inputs get to deliver again (past `failoverTimeout`): the relay retries with
 * backoff capped at 2 s.
 */
export const RESUME_GRACE_MS = 3_000;

/** The earliest epoch ms at which failover or the reconnect window could change the state without a request. */
export function nextWakeup(state: StreamState, now: number): number | null {
  if (state.status !== 'live') return null;
  let next: number | null = state.reconnectDeadline;
  const timeout = failoverTimeoutMs(state);
  for (const s of liveSessions(state)) {
    const stale = lastActivity(s) + timeout + 1;
    if (stale > now && (next === null || stale < next)) next = stale;
  }
  return next;
}

/**
 * The alarm time to set, or null to leave the one set (epoch ms `current`, null when none) alone: re-armed only
 * when the next deadline is earlier, or the one set has passed (cheap per part: most parts change nothing).
 */
export function alarmToSet(current: number | null, state: StreamState, now: number): number | null {
  const wake = nextWakeup(state, now);
  if (wake === null || (current !== null && current <= wake && current > now)) return null;
  return wake;
}

/**
 * An alarm that fired at `now` for `due`: null to act on it, or the epoch ms to look again at when it came so
 * late that nobody is to be judged for the outage (the inputs get `failoverTimeout` + RESUME_GRACE_MS to
 * deliver their retried uploads; without any, the next punctual alarm fails over or ends the event).
 */
export function deferLateAlarm(state: StreamState, due: number | null, now: number): number | null {
  if (due === null || now - due <= LATE_ALARM_MS || state.status !== 'live') return null;
  return now + failoverTimeoutMs(state) + RESUME_GRACE_MS;
}

/**
 * After a sweep run: the alarm to set so the sweep goes on `pauseMs` from now, or null when the alarm set
 * (`current`) comes first anyway or no work remains. The stream's own deadlines are never pushed back.
 */
export function sweepAlarm(
  current: number | null,
  more: boolean,
  now: number,
  pauseMs: number,
): number | null {
  if (!more) return null;
  const at = now + pauseMs;
  return current !== null && current > now && current <= at ? null : at;
}
