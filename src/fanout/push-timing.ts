/**
 * When the stream object pushes a change to its replicas (issue 13: all renditions in one push, not one per
 * rendition). The relay uploads each rendition's copy of a part on its own, so a part is a handful of state
 * changes; the push waits for the change that brings every published rendition to the same newest part
 * (renditions are cut part for part, model.ts `Attachment`), and goes at once for any other kind of change.
 * A rendition that falls behind (a failed rung) holds a push back by half a part target at most. Pure.
 */
import { activeRenditions, type StreamState } from '../stream/model.ts';
import { lastPosition } from '../stream/timeline.ts';

/**
 * Milliseconds the push of `after` may wait for the other renditions' copies of its part (0: push now), or
 * null when nothing a playlist is rendered from changed (an input's activity, its health): no push at all.
 */
export function pushDelayMs(before: StreamState, after: StreamState): number | null {
  if (!viewChanged(before, after)) return null;
  const partTarget = after.config?.partTarget;
  if (!partTarget || !partChangeOnly(before, after) || aligned(after)) return 0;
  return Math.round((partTarget * 1000) / 2);
}

/**
 * Whether the change reaches what replicas render: reducers return new objects only for what changed, so
 * identity tells. Sessions count by the fields playlists read (id, first msn, whether it ended).
 */
function viewChanged(before: StreamState, after: StreamState): boolean {
  if (
    before.renditions !== after.renditions ||
    !partChangeOnly(before, after) ||
    before.config !== after.config ||
    before.streamId !== after.streamId ||
    before.sessions.length !== after.sessions.length
  ) {
    return true;
  }
  return before.sessions.some((s, i) => {
    const t = after.sessions[i];
    return !t || t.id !== s.id || t.firstMsn !== s.firstMsn || t.endedAt !== s.endedAt;
  });
}

/** Every published rendition's newest part is the same (msn, part). */
function aligned(state: StreamState): boolean {
  let first: { msn: number; part: number } | null | undefined;
  for (const r of activeRenditions(state)) {
    const last = lastPosition(r);
    if (first === undefined) first = last;
    else if (last?.msn !== first?.msn || last?.part !== first?.part) return false;
  }
  return true;
}

/** Only parts moved: same event, status, session and join (anything else is pushed at once). */
function partChangeOnly(before: StreamState, after: StreamState): boolean {
  return (
    before.eventId === after.eventId &&
    before.status === after.status &&
    before.activeSessionId === after.activeSessionId &&
    before.join === after.join &&
    before.targetDuration === after.targetDuration
  );
}
