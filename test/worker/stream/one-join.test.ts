/**
 * One join decision per stream (issue 11): a failover is decided once, on the source rendition's keyframe,
 * and applied to every rendition at the same local position and published msn, so an msn is the same media
 * time in every rendition. Here the 360p rung's parts are all INDEPENDENT (as an audio-only or all-intra rung
 * would be): joined on its own it would start a part earlier than the source did.
 */
import { describe, expect, it } from 'vitest';
import { deliver, start, T0 } from './inputs.ts';
import * as S from './room.ts';

const RENDITIONS = ['source', '360p'] as const;

/** Both renditions: the source with keyframes on parts 0 and 2, the rung with every part INDEPENDENT. */
function run(state: S.StreamState, sessionId: string, offset: number, from: number, to: number) {
  const independent = (rendition: string, index: number) => rendition !== 'source' || index % 2 === 0;
  return deliver(state, sessionId, offset, from, to, { renditions: RENDITIONS, independent });
}

function withRung(state: S.StreamState, sessionId: string): S.StreamState {
  return S.putInit(state, sessionId, '360p', { codecs: ['avc1.42c01e'], size: 800 }).state;
}

describe('one join decision per stream', () => {
  it('joins every rendition at the source keyframe, at the same msn', () => {
    let s = withRung(start(S.emptyState(), 'se_p', 'primary', T0), 'se_p');
    s = withRung(start(s, 'se_b', 'backup', T0), 'se_b');
    s = run(s, 'se_p', 0, 0, 6000);
    s = run(s, 'se_b', 500, 0, 6000);
    s = S.endSession(s, 'se_p', 'encoder closed', T0 + 6100).state;
    s = run(s, 'se_b', 500, 6000, 9000);
    const joined = RENDITIONS.map((id) => {
      const seg = S.renditionOf(s, id)?.segments.find((x) => x.sessionId === 'se_b');
      return {
        msn: seg?.msn,
        localMsn: seg?.localMsn,
        firstPart: seg?.firstPart,
        pdt: seg?.parts[0]?.programDateTime,
      };
    });
    // The source's first keyframe within the allowance is local 2.2 (pdt 5500); the rung follows it there.
    expect(joined[0]).toMatchObject({ msn: 3, localMsn: 2, firstPart: 2 });
    expect(joined[1]).toEqual(joined[0]);
    expect(s.join).toMatchObject({ sessionId: 'se_b', localMsn: 2, localPart: 2, msn: 3 });
    // Every later msn is the same local segment in both renditions.
    const byMsn = (id: string) => S.renditionOf(s, id)?.segments.map((x) => [x.msn, x.sessionId, x.localMsn]);
    expect(byMsn('360p')).toEqual(byMsn('source'));
  });
});
