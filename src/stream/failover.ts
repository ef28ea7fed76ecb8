/**
 * Which input the origin publishes: a pure decision over the sessions' delivery times, with `now` passed in.
 *
 * - Failover: the active input delivered no part for `failoverTimeout` (or ended) and the other input is
 *   healthy: switch to it. The playlist joins it at its first keyframe segment that does not repeat published
 *   media (projection.ts `joinPoint`, decided on the source rendition for all), which may be one already
 *   received or the next one.
 * - Failback (primary preferred): the primary is the standby and has delivered without a gap for
 *   `failbackHoldOff`: switch back, but only when it has a joinable keyframe segment right now, so a switch
 *   between two healthy inputs never leaves a gap.
 * - No healthy input at all: the stream waits `reconnectWindow` from the last sign of life, then ends.
 *
 * `evaluate` runs after every part, session change and alarm; scheduler.ts arms the one alarm at the earliest
 * moment the answer could change without a request.
 */
import {
  activeSession,
  detachAll,
  failbackHoldOffMs,
  failoverTimeoutMs,
  isHealthy,
  lastActivity,
  liveSessions,
  type SessionInfo,
  type StreamState,
  SWITCH_HISTORY,
  type SwitchReason,
  type SwitchRecord,
} from './model.ts';
import { closeOpenSegments, joinPoint, joinRendition, syncAll } from './projection.ts';

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
  // The join is decided on the source rendition for every rendition (projection.ts decideJoin).
  const r = joinRendition(state, standby.id);
  return r && joinPoint(state, r, standby.id) !== undefined ? 'failback' : null;
}

function withSwitch(state: StreamState, record: SwitchRecord): StreamState {
  // The open segment of the old input closes as it stands; the new input is joined at a keyframe (projection.ts).
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
