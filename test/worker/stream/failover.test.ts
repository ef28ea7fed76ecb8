/**
 * The failover reducers with stepped time: two inputs, staleness, joins at keyframes, failback after the
 * hold-off, takeover of a silent same-role session, PDT kept monotonic. Parts are 0.5 s, four to a segment.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist } from '../../../src/hls/from-state.ts';
import { evaluate } from '../../../src/stream/failover.ts';
import { addPart } from '../../../src/stream/parts.ts';
import { nextWakeup } from '../../../src/stream/scheduler.ts';
import { CONFIG, deliver, start, T0 } from './inputs.ts';
import * as S from './room.ts';

/** Part `part` of local segment `localMsn` whose first sample is at `pdt`, arriving at `at` (ms). */
function part(
  state: S.StreamState,
  sessionId: string,
  localMsn: number,
  index: number,
  pdt: number,
  at: number,
) {
  const { state: next, result } = addPart(
    state,
    {
      sessionId,
      rendition: 'source',
      msn: localMsn,
      part: index,
      duration: 0.5,
      independent: index === 0,
      programDateTime: pdt,
      segmentEnd: index === 3,
      size: 100 + index,
    },
    at,
  );
  expect(result.kind, JSON.stringify(result)).toBe('committed');
  return next;
}

/** Both inputs deliver in step (inputs.ts `deliver`): keyframes on part 0 of each segment only. */
const run = deliver;

function published(state: S.StreamState) {
  return (state.renditions.source?.segments ?? []).map((s) => ({
    msn: s.msn,
    uri: `${s.sessionId}/${s.localMsn}`,
    disc: s.discontinuity,
    pdt: (s.parts[0]?.programDateTime ?? 0) - T0,
    parts: s.parts.length,
    complete: s.complete,
  }));
}

function expectMonotonic(state: S.StreamState) {
  const segments = state.renditions.source?.segments ?? [];
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1];
    const cur = segments[i];
    if (!prev || !cur) continue;
    expect(cur.msn).toBe(prev.msn + 1);
    const prevEnd = (prev.parts.at(-1)?.programDateTime ?? 0) + (prev.parts.at(-1)?.duration ?? 0) * 1000;
    expect(cur.parts[0]?.programDateTime ?? 0).toBeGreaterThanOrEqual(prevEnd);
  }
}

function twoInputs(backupOffset: number, until: number) {
  let s = start(S.emptyState(), 'se_p', 'primary', T0);
  s = start(s, 'se_b', 'backup', T0);
  s = run(s, 'se_p', 0, 0, until);
  return run(s, 'se_b', backupOffset, 0, until);
}

describe('failover', () => {
  it('publishes only the active input; the standby is tracked but not published', () => {
    const s = twoInputs(500, 6000);
    expect(published(s).map((x) => x.uri)).toEqual(['se_p/0', 'se_p/1', 'se_p/2']);
    expect(s.renditions.source?.tracks.se_b?.recent.length).toBe(3);
    expect(evaluate(s, T0 + 6000).switched).toBeNull();
    expect(nextWakeup(s, T0 + 6000)).toBe(T0 + 6000 + 1500 + 1);
  });

  it('switches to the healthy standby once the active is silent for failoverTimeout, at its keyframe', () => {
    let s = twoInputs(500, 6000); // primary's last part ends at pdt 6000
    s = run(s, 'se_b', 500, 6000, 7000); // backup's segment 3 (pdt 6500) has begun
    expect(evaluate(s, T0 + 7500).switched).toBeNull(); // 1.5 s: not yet
    const { state, switched } = evaluate(s, T0 + 7502);
    expect(switched).toMatchObject({
      reason: 'input-stale',
      from: { role: 'primary' },
      to: { role: 'backup' },
    });
    expect(published(state).slice(-2)).toEqual([
      { msn: 2, uri: 'se_p/2', disc: false, pdt: 4000, parts: 4, complete: true },
      // Published msn 3 is the backup's own segment 3: joined at its keyframe, no media repeated.
      { msn: 3, uri: 'se_b/3', disc: true, pdt: 6500, parts: 1, complete: false },
    ]);
    const playlist = buildMediaPlaylist(state, 'source', null);
    expect(playlist?.openSegment?.mapUri).toBe('se_b/init.mp4');
    expect(playlist?.preloadHint?.uri).toBe('se_b/3.1.m4s');
    const more = run(state, 'se_b', 500, 7000, 12000);
    expect(published(more).at(-1)).toMatchObject({ msn: 5, uri: 'se_b/5' });
    expectMonotonic(more);
  });

  it('closes the open segment and waits for the next keyframe when the standby has none to join yet', () => {
    let s = start(S.emptyState(), 'se_p', 'primary', T0);
    s = start(s, 'se_b', 'backup', T0);
    s = run(s, 'se_p', 0, 0, 5000); // stops inside segment 2 (pdt 4000-5000)
    s = run(s, 'se_b', 1800, 0, 6600); // backup's segment 2 began at pdt 5800, 3 not yet
    // Allowance max(2 x 0.5, 0.5) = 1 s: 5800 >= 5000 - 1000, so segment 2 is joinable; take 1.5 s later.
    const early = evaluate(s, T0 + 6600);
    expect(published(early.state).at(-1)).toMatchObject({ uri: 'se_b/2', pdt: 5800, disc: true });
    // Now a standby whose only keyframe overlaps too much: it waits.
    let w = start(S.emptyState(), 'se_p', 'primary', T0);
    w = start(w, 'se_b', 'backup', T0);
    w = run(w, 'se_p', 0, 0, 6000); // ends at pdt 6000
    w = run(w, 'se_b', 2800, 0, 7200); // backup segment 1 began at 4800 (< 6000 - 1000), 2 not yet
    const waiting = evaluate(w, T0 + 7600);
    expect(waiting.switched?.to.sessionId).toBe('se_b');
    expect(published(waiting.state).at(-1)).toMatchObject({ uri: 'se_p/2', complete: true });
    expect(buildMediaPlaylist(waiting.state, 'source', null)?.preloadHint).toBeNull();
    const joined = run(waiting.state, 'se_b', 2800, 7200, 9200); // segment 2 at pdt 6800
    expect(published(joined).at(-1)).toMatchObject({ msn: 3, uri: 'se_b/2', pdt: 6800, disc: true });
    expectMonotonic(joined);
  });

  it('fails over at once when the active input ends while the standby is healthy', () => {
    const s = twoInputs(500, 6000);
    const { state, result } = S.endSession(s, 'se_p', 'encoder closed', T0 + 6100);
    expect(result).toEqual({ kind: 'ended', reconnectDeadline: null });
    expect(state.activeSessionId).toBe('se_b');
    expect(state.switches.at(-1)?.reason).toBe('input-ended');
    const next = run(state, 'se_b', 500, 6000, 7000);
    expect(published(next).at(-1)).toMatchObject({ msn: 3, uri: 'se_b/3', disc: true });
  });

  it('fails back to the primary after it delivered for failbackHoldOff, at its next keyframe', () => {
    let s = twoInputs(500, 6000);
    s = run(s, 'se_b', 500, 6000, 8000);
    s = evaluate(s, T0 + 8000).state; // backup active
    expect(s.activeSessionId).toBe('se_b');
    // The primary comes back as a new session (its relay restarted) at t = 10 s.
    s = S.endSession(s, 'se_p', 'relay gone', T0 + 10_000).state;
    s = start(s, 'se_p2', 'primary', T0 + 10_000);
    for (let t = 8000; t < 20_000; t += 500) {
      s = run(s, 'se_b', 500, t, t + 500);
      s = run(s, 'se_p2', 10_000, Math.max(t, 10_000), t + 500);
      if (t + 500 < 14_500) expect(s.activeSessionId, `at ${t}`).toBe('se_b'); // hold-off 4 s from 10 s
    }
    expect(s.activeSessionId).toBe('se_p2');
    expect(s.switches.map((x) => x.reason)).toEqual(['input-stale', 'failback']);
    const back = s.renditions.source?.segments.find((x) => x.sessionId === 'se_p2');
    expect(back?.discontinuity).toBe(true);
    expect((back?.parts[0]?.programDateTime ?? 0) - T0).toBeGreaterThanOrEqual(14_000 - 1000);
    expectMonotonic(s);
  });

  it('refuses a same-role publish while that session is healthy and takes over a stale one', () => {
    let s = start(S.emptyState(), 'se_a', 'primary', T0);
    s = run(s, 'se_a', 0, 0, 4000);
    const input = {
      streamId: 'st',
      sessionId: 'se_a2',
      eventId: 'ev_1',
      config: CONFIG,
      protocol: 'rtmp' as const,
      remoteAddress: 'y',
      relayId: 'r2',
      role: 'primary' as const,
    };
    expect(S.startSession(s, input, T0 + 5000).result).toMatchObject({ ok: false, code: 'already-live' });
    const taken = S.startSession(s, input, T0 + 5600);
    expect(taken.result).toMatchObject({ ok: true, takenOver: 'se_a', firstMsn: 2 });
    expect(S.findSession(taken.state, 'se_a')?.endReason).toBe('taken over by a new session');
    const late = addPart(
      taken.state,
      {
        sessionId: 'se_a',
        rendition: 'source',
        msn: 2,
        part: 0,
        duration: 0.5,
        independent: true,
        programDateTime: T0 + 4000,
        segmentEnd: false,
        size: 1,
      },
      T0 + 5700,
    );
    expect(late.result).toMatchObject({ kind: 'rejected', status: 410 });
  });

  it('keeps PDT monotonic across a reconnect whose clock runs behind (clamped per join)', () => {
    let s = start(S.emptyState(), 'se_a', 'primary', T0);
    s = run(s, 'se_a', 0, 0, 4000); // ends at pdt 4000
    s = S.endSession(s, 'se_a', 'bye', T0 + 4100).state;
    s = start(s, 'se_b', 'primary', T0 + 5000);
    // The new relay's clock is 3 s behind: its first keyframe claims pdt 2500.
    s = part(s, 'se_b', 2, 0, T0 + 2500, T0 + 5500);
    s = part(s, 'se_b', 2, 1, T0 + 3000, T0 + 6000);
    const segs = published(s);
    expect(segs.at(-1)).toMatchObject({ msn: 2, uri: 'se_b/2', disc: true, pdt: 4000, parts: 2 });
    expect(s.renditions.source?.segments.at(-1)?.parts[1]?.programDateTime).toBe(T0 + 4500);
    expectMonotonic(s);
  });

  it('ends the stream reconnectWindow after a relay vanished without an end call', () => {
    let s = start(S.emptyState(), 'se_a', 'primary', T0);
    s = run(s, 'se_a', 0, 0, 3000);
    s = evaluate(s, T0 + 4600).state; // stale, no standby: the window starts at last part + timeout
    expect(s.reconnectDeadline).toBe(T0 + 3000 + 1500 + 5000);
    expect(S.expireReconnect(s, T0 + 9499).ended).toBe(false);
    const ended = S.expireReconnect(s, T0 + 9500);
    expect(ended.ended).toBe(true);
    expect(buildMediaPlaylist(ended.state, 'source', null)?.ended).toBe(true);
    expect(ended.state.renditions.source?.segments.every((x) => x.complete)).toBe(true);
  });
});
