import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist } from '../../../src/hls/from-state.ts';
import { addPart, type PartUpload } from '../../../src/stream/parts.ts';
import { holds } from '../../../src/stream/timeline.ts';
import { WaiterList } from '../../../src/stream/waiters.ts';
import * as S from './room.ts';

const T0 = 1_767_225_600_000;
const CONFIG = { partTarget: 1, segmentTarget: 2, reconnectWindow: 5 };

function started(sessionId = 'se_a', from = S.emptyState()) {
  const { state, result } = S.startSession(
    from,
    {
      streamId: 'st',
      sessionId,
      eventId: 'ev_1',
      config: CONFIG,
      protocol: 'srt',
      remoteAddress: '1.2.3.4:5',
      relayId: 'r',
      role: 'primary',
    },
    T0,
  );
  expect(result.ok).toBe(true);
  return S.putInit(state, sessionId, 'source', { codecs: ['avc1.64001f'], size: 900 }).state;
}

function upload(msn: number, part: number, extra: Partial<PartUpload> = {}): PartUpload {
  return {
    sessionId: 'se_a',
    rendition: 'source',
    msn,
    part,
    duration: 1,
    independent: part === 0,
    programDateTime: T0 + msn * 2000 + part * 1000,
    segmentEnd: part === 1,
    size: 1000 + part,
    ...extra,
  };
}

/** Appends whole two-part segments msn from..to-1 for `sessionId`. */
function segments(state: S.StreamState, from: number, to: number, sessionId = 'se_a') {
  let s = state;
  for (let msn = from; msn < to; msn++) {
    for (const part of [0, 1]) {
      const r = addPart(s, upload(msn, part, { sessionId }), T0);
      expect(r.result.kind).toBe('committed');
      s = r.state;
    }
  }
  return s;
}

describe('addPart', () => {
  it('commits in order, flags duplicates and refuses different bytes at a recorded position', () => {
    let s = segments(started(), 0, 1);
    expect(addPart(s, upload(0, 1), T0).result).toEqual({ kind: 'duplicate' });
    expect(addPart(s, upload(0, 1, { size: 5 }), T0).result).toMatchObject({ kind: 'rejected', status: 409 });
    s = addPart(s, upload(1, 0), T0).state;
    expect(s.renditions.source?.segments.map((x) => [x.msn, x.parts.length, x.complete])).toEqual([
      [0, 2, true],
      [1, 1, false],
    ]);
  });

  it('holds parts within the window ahead and commits them in order when the gap fills', () => {
    let s = started();
    const a = addPart(s, upload(0, 1), T0);
    expect(a.result).toEqual({ kind: 'pending' });
    const b = addPart(a.state, upload(1, 0), T0);
    expect(b.result).toEqual({ kind: 'pending' });
    expect(addPart(b.state, upload(1, 0), T0).result).toEqual({ kind: 'duplicate' });
    const c = addPart(b.state, upload(0, 0), T0);
    expect(c.result).toEqual({
      kind: 'committed',
      committed: [
        { msn: 0, part: 0 },
        { msn: 0, part: 1 },
        { msn: 1, part: 0 },
      ],
      pruned: [],
    });
    s = c.state;
    expect(s.renditions.source?.tracks.se_a?.pending).toEqual([]);
    expect(addPart(s, upload(1, 9), T0).result).toEqual({ kind: 'pending' }); // 8 ahead: held
    expect(addPart(s, upload(1, 10), T0).result).toMatchObject({ kind: 'rejected', status: 409 });
    expect(addPart(s, upload(4, 0), T0).result).toMatchObject({ kind: 'rejected', status: 409 });
  });

  it('rejects bad durations, unknown renditions and parts of a session that is not publishing', () => {
    const s = started();
    expect(addPart(s, upload(0, 0, { duration: 0 }), T0).result).toMatchObject({ status: 422 });
    expect(addPart(s, upload(0, 0, { duration: 1.0011 }), T0).result).toMatchObject({ status: 422 });
    expect(addPart(s, upload(0, 0, { duration: 1.0009 }), T0).result.kind).toBe('committed');
    expect(addPart(s, upload(0, 0, { rendition: 'low' }), T0).result).toMatchObject({ status: 409 });
    expect(addPart(s, upload(0, 0, { sessionId: 'se_x' }), T0).result).toMatchObject({ status: 410 });
    const ended = S.endSession(s, 'se_a', 'bye', T0).state;
    expect(addPart(ended, upload(0, 0), T0).result).toMatchObject({ status: 410 });
  });

  it('raises the target duration for a long segment and never lowers it', () => {
    let s = started();
    expect(s.targetDuration).toBe(2);
    for (const [part, end] of [
      [0, false],
      [1, false],
      [2, true],
    ] as const) {
      s = addPart(s, upload(0, part, { segmentEnd: end, duration: part === 2 ? 0.6 : 1 }), T0).state;
    }
    expect(s.targetDuration).toBe(3); // 2.6 s rounds to 3 (RFC 8216bis 4.4.3.1)
    s = segments(s, 1, 2);
    expect(s.targetDuration).toBe(3);
  });

  it('prunes old segment metadata and keeps the discontinuity sequence right', () => {
    let s = segments(started(), 0, 1);
    s = S.endSession(s, 'se_a', 'bye', T0).state;
    s = started('se_b', s);
    s = segments(s, 1, S.RETAINED_SEGMENTS + 5, 'se_b');
    const r = s.renditions.source;
    expect(r?.segments[0]?.msn).toBe(5);
    expect(r?.prunedDiscontinuities).toBe(1);
    const playlist = buildMediaPlaylist(s, 'source', null);
    expect(playlist?.discontinuitySequence).toBe(1);
    expect(playlist?.segments).toHaveLength(S.PLAYLIST_SEGMENTS);
    expect(playlist?.mediaSequence).toBe(S.RETAINED_SEGMENTS + 5 - S.PLAYLIST_SEGMENTS);
    // Parts only on segments within three target durations of the end (RFC 8216bis 4.4.4.9).
    expect(playlist?.segments.filter((x) => x.parts.length > 0)).toHaveLength(3);
  });
});

describe('holds', () => {
  it('treats a part index past the end of a complete segment as part 0 of the next', () => {
    const s = segments(started(), 0, 1);
    const r = s.renditions.source;
    if (!r) throw new Error('no rendition');
    expect(holds(r, 0, 1)).toBe(true);
    expect(holds(r, 0, undefined)).toBe(true);
    expect(holds(r, 0, 2)).toBe(false);
    const next = addPart(s, upload(1, 0), T0).state.renditions.source;
    if (!next) throw new Error('no rendition');
    expect(holds(next, 0, 2)).toBe(true);
    expect(holds(next, 1, undefined)).toBe(false);
  });
});

describe('WaiterList', () => {
  it('wakes met waiters on settle and overdue ones on expire, with time passed in', async () => {
    const list = new WaiterList();
    let met = false;
    const a = list.wait('source', () => met, T0 + 3000);
    const b = list.wait('low', () => true, T0 + 1000);
    const c = list.wait('source', () => false, T0 + 2000);
    expect(list.nextDeadline()).toBe(T0 + 1000);
    expect(list.settle('source')).toBe(0);
    met = true;
    expect(list.settle('source')).toBe(1);
    expect(await a).toBe('ready');
    expect(list.expire(T0 + 1500)).toBe(1);
    expect(await b).toBe('timeout');
    list.releaseAll('cancelled');
    expect(await c).toBe('cancelled');
    expect(list.size).toBe(0);
  });
});
