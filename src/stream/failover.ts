/**
 * Which input the origin publishes: a pure decision over the sessions' delivery times, with `now` passed in.
 *
 * - Failover: the active input delivered no part for `failoverTimeout` (or ended) and the other input is
 *   healthy: switch to it. The playlist joins it at its first keyframe segment that does not repeat published
 *   media (publish.ts `joinPoint`), which may be one already received or the next one.
 * - Failback (primary preferred): the primary is the standby and has delivered without a gap for
 *   `failbackHoldOff`: switch back, but only when it has a joinable keyframe segment right now, so a switch
 *   between two healthy inputs never leaves a gap.
 * - No healthy input at all: the stream waits `reconnectWindow` from the last sign of life, then ends.
 *
 * The Durable Object calls `evaluate` after every part, session change and alarm, and arms its one alarm at
 * `nextWakeup` (the earliest moment the answer could change without a request).
 */
import { closeOpenSegments, joinPoint, syncAll } from './publish.ts';
import {
  activeSession,
  detachAll,
  failbackHoldOffMs,
  failoverTimeoutMs,
  isHealthy,
  lastActivity,
  liveSessions,
  own,
  type SessionInfo,
  type StreamState,
  SWITCH_HISTORY,
  type SwitchReason,
  type SwitchRecord,
} from './state.ts';

export function evaluate(
  state: StreamState,
  now: number,
): { state: StreamState; switched: SwitchRecord | null } {
  if (state.status !== 'live') return { state, switched: null };
  let next = state;
  let switched: SwitchRecord | null = null;
  const active = activeSession(state);
  const standby = liveSessions(state).find((s) => s.id !== state.activeSessionId);
  if (standby && isHealthy(state, standby, now)) {
    const reason = switchReason(state, active, standby, now);
    if (reason) {
      switched = {
        at: now,
        from: { sessionId: active?.id ?? '', role: active?.role ?? 'primary' },
        to: { sessionId: standby.id, role: standby.role },
        reason,
      };
      next = withSwitch(state, switched);
    }
  } else if (standby && (!active || active.endedAt !== null)) {
    // Nobody else is live: a lone input (stale or not) is all there is to publish.
    next = detachAll({ ...state, activeSessionId: standby.id });
  }
  next = syncAll(next, now).state;
  return { state: withDeadline(next, now), switched };
}

function switchReason(
  state: StreamState,
  active: SessionInfo | undefined,
  standby: SessionInfo,
  now: number,
): SwitchReason | null {
  if (!active || active.endedAt !== null) return 'input-ended';
  if (!isHealthy(state, active, now)) return 'input-stale';
  if (standby.role !== 'primary' || active.role !== 'backup') return null;
  if (standby.healthySince === null || now - standby.healthySince < failbackHoldOffMs(state)) return null;
  // Only switch back where the primary can be joined at once: both inputs are healthy, so waiting for a
  // joinable keyframe on the primary would leave viewers with nothing.
  const tracked = Object.values(state.renditions).filter((r) => own(r.tracks, standby.id));
  const joinable = tracked.length > 0 && tracked.every((r) => joinPoint(state, r, standby.id) !== undefined);
  return joinable ? 'failback' : null;
}

function withSwitch(state: StreamState, record: SwitchRecord): StreamState {
  // The open segment of the old input closes as it stands; the new input is joined at a keyframe (publish.ts).
  return closeOpenSegments({
    ...state,
    activeSessionId: record.to.sessionId,
    switches: [...state.switches, record].slice(-SWITCH_HISTORY),
  });
}

/**
 * With no healthy input, the stream ends `reconnectWindow` after the last sign of life: an `end` call, or a
 * session's last part plus `failoverTimeout` (a relay killed without `end`). Null while any input is healthy.
 */
function withDeadline(state: StreamState, now: number): StreamState {
  if (state.status !== 'live') return state;
  const live = liveSessions(state);
  if (live.some((s) => isHealthy(state, s, now))) {
    return state.reconnectDeadline === null ? state : { ...state, reconnectDeadline: null };
  }
  const timeout = failoverTimeoutMs(state);
  let lastSign = 0;
  for (const s of state.sessions) {
    lastSign = Math.max(lastSign, s.endedAt ?? lastActivity(s) + timeout);
  }
  const deadline = lastSign + (state.config?.reconnectWindow ?? 0) * 1000;
  return deadline === state.reconnectDeadline ? state : { ...state, reconnectDeadline: deadline };
}

/** The earliest epoch ms at which `evaluate` or `expireReconnect` could change the state without a request. */
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
