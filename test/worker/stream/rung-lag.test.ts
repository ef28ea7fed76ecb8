/**
 * A rung whose parts trail the source's (issue 12: transcode lag, up to about a second) keeps the source's
 * published numbers for the same local numbers, also across a failover decided on the source: where the
 * timeline leaves an input, the rung is padded to the source's end with gaps (alignment.ts), so the next join
 * starts every rendition at the same msn. Stepped time; 0.5 s parts, four to a segment, keyframes on part 0.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist } from '../../../src/hls/from-state.ts';
import { renderMediaPlaylist } from '../../../src/hls/render-media.ts';
import { addPart } from '../../../src/stream/parts.ts';
import { hintDecision } from '../../../src/stream/reads.ts';
import { deliver as deliverSource, start, T0 } from './inputs.ts';
import * as S from './room.ts';

const RUNG = '360p';

function withRung(state: S.StreamState, sessionId: string): S.StreamState {
  return S.putInit(state, sessionId, RUNG, { codecs: ['avc1.42c01e'], bandwidth: 1_340_800, size: 800 })
    .state;
}

/**
 * Input `sessionId` cuts 0.5 s parts from pdt `offset` (ms after T0); the source's part arrives 500 ms after its
 * first sample, the rung's `lagMs` after that. Delivers, in arrival order, every upload arriving in (from, to].
 */
function deliver(
  s0: S.StreamState,
  sessionId: string,
  offset: number,
  from: number,
  to: number,
  lagMs: number,
  keyframeEvery = 4,
) {
  const base = S.findSession(s0, sessionId)?.firstMsn ?? 0;
  const uploads: { rendition: string; k: number; at: number }[] = [];
  for (let k = 0; k < 80; k++) {
    const at = T0 + offset + k * 500 + 500;
    uploads.push({ rendition: 'source', k, at }, { rendition: RUNG, k, at: at + lagMs });
  }
  let s = s0;
  for (const u of uploads.sort((a, b) => a.at - b.at || a.rendition.localeCompare(b.rendition))) {
    if (u.at <= T0 + from || u.at > T0 + to) continue;
    const index = u.k % 4;
    const upload = {
      sessionId,
      rendition: u.rendition,
      msn: base + Math.floor(u.k / 4),
      part: index,
      duration: 0.5,
      independent: index % keyframeEvery === 0,
      programDateTime: T0 + offset + u.k * 500,
      segmentEnd: index === 3,
      size: u.rendition === 'source' ? 2000 + u.k : 1000 + u.k,
    };
    const { state, result } = addPart(s, upload, u.at);
    expect(result.kind, JSON.stringify({ u, result })).toBe('committed');
    s = state;
  }
  return s;
}

/** Each published segment as [msn, session, local msn, first part, part count, duration]. */
function timeline(s: S.StreamState, id: string) {
  return S.renditionOf(s, id)?.segments.map((x) => [
    x.msn,
    x.sessionId,
    x.localMsn,
    x.firstPart,
    x.parts.length,
    S.segmentDuration(x),
  ]);
}

const gaps = (s: S.StreamState, id: string) =>
  S.renditionOf(s, id)?.segments.map((x) => x.parts.map((p) => (p.gap ? 'g' : 'm')).join(''));

describe('a lagging rung across a failover', () => {
  it('keeps the same published msn for the same local numbers when its uploads arrive after the source', () => {
    let s = withRung(start(S.emptyState(), 'se_p', 'primary', T0), 'se_p');
    s = withRung(start(s, 'se_b', 'backup', T0), 'se_b');
    // 800 ms of transcode lag. At 6600 the source has opened local segment 3 (pdt 6000 arrived at 6500); the
    // rung has parts 2.0-2.2 (pdt 5000 arrived at 6300; 5500 comes at 6800).
    s = deliver(s, 'se_p', 0, 0, 6600, 800);
    s = deliver(s, 'se_b', 0, 0, 6600, 800);
    expect(timeline(s, RUNG)?.at(-1)).toEqual([2, 'se_p', 2, 0, 3, 1.5]);
    expect(timeline(s, 'source')?.at(-1)).toEqual([3, 'se_p', 3, 0, 1, 0.5]);

    // The primary's encoder goes: the failover is decided on the source and joins the backup at msn 4.
    s = S.endSession(s, 'se_p', 'encoder closed', T0 + 6650).state;
    // The rung ends where the source ended: the rest of 2 and all of 3 as gaps, so 4 follows on in both.
    expect(timeline(s, RUNG)?.slice(2)).toEqual(timeline(s, 'source')?.slice(2, 4));
    expect(gaps(s, RUNG)?.slice(2)).toEqual(['mmmg', 'g']);

    s = deliver(s, 'se_b', 0, 6600, 12_000, 800);
    expect(s.join).toMatchObject({ sessionId: 'se_b', msn: 4 });
    // Where the rung has caught up (all but the segment the source is ahead in), every msn is the same local
    // segment, cut the same way, at the same PDT, in both renditions; the backup's own media, no gaps.
    expect(timeline(s, RUNG)?.slice(0, 6)).toEqual(timeline(s, 'source')?.slice(0, 6));
    expect(timeline(s, RUNG)?.slice(4, 6)).toEqual([
      [4, 'se_b', 3, 0, 4, 2],
      [5, 'se_b', 4, 0, 4, 2],
    ]);
    expect(gaps(s, RUNG)?.slice(4, 6)).toEqual(['mmmm', 'mmmm']);
    const pdt = (id: string) => S.renditionOf(s, id)?.segments.map((x) => x.parts[0]?.programDateTime);
    expect(pdt(RUNG)?.slice(0, 6)).toEqual(pdt('source')?.slice(0, 6));
    expect(timeline(s, RUNG)?.at(-1)?.slice(0, 4)).toEqual(timeline(s, 'source')?.at(-1)?.slice(0, 4));

    const text = renderMediaPlaylist(
      buildMediaPlaylist(s, RUNG, null) as NonNullable<ReturnType<typeof buildMediaPlaylist>>,
    );
    expect(text).toContain(
      '#EXT-X-PART:DURATION=0.5,URI="se_p/3.0.m4s",INDEPENDENT=YES,GAP=YES\n#EXT-X-GAP\n#EXTINF:0.5,\nse_p/3.m4s\n' +
        '#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="se_b/init.mp4"\n',
    );
  });

  it('while the rung trails a fresh join, its playlist neither lists nor hints parts before the join', () => {
    let s = withRung(start(S.emptyState(), 'se_p', 'primary', T0), 'se_p');
    s = withRung(start(s, 'se_b', 'backup', T0), 'se_b');
    s = deliver(s, 'se_p', 0, 0, 6000, 800);
    // The backup's own timeline runs a part behind the primary's: its keyframes fall at pdt 4250, 6250, ...
    s = deliver(s, 'se_b', 250, 0, 6000, 800);
    s = S.endSession(s, 'se_p', 'encoder closed', T0 + 6100).state;
    s = deliver(s, 'se_b', 250, 6000, 7100, 800); // the source's 3.0 (pdt 6250) is in, the rung's is not
    expect(s.join).toMatchObject({ sessionId: 'se_b', localMsn: 3, localPart: 0 });
    const rung = buildMediaPlaylist(s, RUNG, null);
    // Announced like a segment awaiting its join (its discontinuity, its map), hinted at the joined keyframe.
    expect(rung?.openSegment).toMatchObject({ parts: [], discontinuity: true, mapUri: 'se_b/init.mp4' });
    expect(rung?.preloadHint?.uri).toBe('se_b/3.0.m4s');
    expect(rung?.openSegment?.msn).toBe(buildMediaPlaylist(s, 'source', null)?.openSegment?.msn);
  });

  it('holds a hinted part at a join inside a segment that the rung has not reached yet', () => {
    // 1 s GOPs (keyframes on parts 0 and 2), 1.8 s of lag. The backup is joined at its keyframe 2.2.
    let s = withRung(start(S.emptyState(), 'se_p', 'primary', T0), 'se_p');
    s = withRung(start(s, 'se_b', 'backup', T0), 'se_b');
    s = deliver(s, 'se_p', 0, 0, 6000, 1800, 2);
    s = deliver(s, 'se_b', 250, 0, 6000, 1800, 2);
    s = S.endSession(s, 'se_p', 'encoder closed', T0 + 6100).state;
    expect(s.join).toMatchObject({ sessionId: 'se_b', localMsn: 2, localPart: 2, msn: 3 });
    // The rung's own next part is 1.3: never listed, since the join starts at 2.2.
    expect(S.renditionOf(s, RUNG)?.tracks.se_b?.recent.at(-1)).toMatchObject({
      localMsn: 1,
      complete: false,
    });
    expect(buildMediaPlaylist(s, RUNG, null)?.preloadHint?.uri).toBe('se_b/2.2.m4s');
    expect(hintDecision(s, { rendition: RUNG, sessionId: 'se_b', msn: 2, part: 2 })).toBe('wait');
    expect(hintDecision(s, { rendition: RUNG, sessionId: 'se_b', msn: 1, part: 3 })).toBe('not-found');
  });

  it('restarts a rung that was absent for longer than the retained window at the source numbers', () => {
    const both = { renditions: ['source', RUNG] };
    let s = withRung(start(S.emptyState(), 'se_1', 'primary', T0), 'se_1');
    s = deliverSource(s, 'se_1', 0, 0, 4000, both); // msn 0 and 1 in both
    s = S.endSession(s, 'se_1', 'encoder closed', T0 + 4100).state;
    // The encoder comes back through a relay with no CPU for a ladder: the source alone, for 47 segments.
    s = start(s, 'se_2', 'primary', T0 + 5000);
    s = deliverSource(s, 'se_2', 5000, 5000, 100_000);
    s = S.endSession(s, 'se_2', 'encoder closed', T0 + 100_100).state;
    s = withRung(start(s, 'se_3', 'primary', T0 + 101_000), 'se_3');
    s = deliverSource(s, 'se_3', 101_000, 101_000, 110_000, both);

    const msns = (id: string) => S.renditionOf(s, id)?.segments.map((x) => x.msn);
    expect(msns(RUNG)).toEqual(msns('source'));
    expect(msns('source')?.[0]).toBeGreaterThan(2); // the window slid past the rung's own last segment
    const rung = buildMediaPlaylist(s, RUNG, null);
    const source = buildMediaPlaylist(s, 'source', null);
    expect(rung?.mediaSequence).toBe(source?.mediaSequence);
    expect(rung?.discontinuitySequence).toBe(source?.discontinuitySequence);
    expect(rung?.segments.map((x) => [x.msn, x.discontinuity])).toEqual(
      source?.segments.map((x) => [x.msn, x.discontinuity]),
    );
    // Gaps while it was away, its own media once back.
    const back = S.renditionOf(s, RUNG)?.segments.filter((x) => x.sessionId === 'se_3') ?? [];
    expect(back.length).toBeGreaterThan(3);
    expect(back.every((x) => x.parts.every((p) => !p.gap))).toBe(true);
    expect(
      S.renditionOf(s, RUNG)
        ?.segments.filter((x) => x.sessionId === 'se_2')
        .every((x) => x.parts.every((p) => p.gap)),
    ).toBe(true);
  });
});
