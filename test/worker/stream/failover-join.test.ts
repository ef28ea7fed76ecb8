/**
 * Joins inside a segment (issue 6, stall <= 1 s): with 1 s GOPs and 2 s segments a failover joins the standby
 * at its next keyframe part, not its next segment start. The joined segment is the standby's parts from that
 * keyframe to the end of its local segment, under its own URI. And the paused playlist announces the
 * discontinuity of the segment that will follow. Stepped time; parts are 0.5 s, four to a segment, keyframes
 * on parts 0 and 2.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist, playlistPosition } from '../../../src/hls/from-state.ts';
import { renderMediaPlaylist } from '../../../src/hls/render-media.ts';
import { joinPoint } from '../../../src/stream/projection.ts';
import { deliver, start, T0 } from './inputs.ts';
import * as S from './room.ts';

/** Keyframes on parts 0 and 2 of each four-part segment (1 s GOPs). */
function run(state: S.StreamState, sessionId: string, offset: number, from: number, to: number) {
  return deliver(state, sessionId, offset, from, to, { independent: (_r, index) => index % 2 === 0 });
}

const source = (s: S.StreamState) => s.renditions.source as S.RenditionState;

describe('failover join at a keyframe inside a segment', () => {
  it('joins the standby at its first keyframe part within the allowance, as a segment of its own', () => {
    let s = start(S.emptyState(), 'se_p', 'primary', T0);
    s = start(s, 'se_b', 'backup', T0);
    s = run(s, 'se_p', 0, 0, 6000); // primary published up to pdt 6000
    s = run(s, 'se_b', 500, 0, 6000); // backup: local segment 2 = pdt 4500..6500, parts 0-2 so far
    // Allowance max(2 x 0.5, 0.5) = 1 s: the first keyframe at or after 5000 is local 2.2 (pdt 5500),
    // 1.5 s before local segment 3 would start (the old rule waited for it).
    expect(joinPoint(s, source(s), 'se_b')).toEqual({ localMsn: 2, part: 2, programDateTime: T0 + 5500 });

    s = S.endSession(s, 'se_p', 'encoder closed', T0 + 6100).state;
    let seg = source(s).segments.at(-1);
    expect(seg).toMatchObject({ msn: 3, sessionId: 'se_b', localMsn: 2, firstPart: 2, discontinuity: true });
    // PDT clamped so it never goes back: the repeated half second is shifted to start at the published end.
    expect(seg?.parts.map((p) => p.programDateTime - T0)).toEqual([6000]);
    let playlist = buildMediaPlaylist(s, 'source', null);
    expect(playlist?.openSegment).toMatchObject({
      msn: 3,
      discontinuity: true,
      mapUri: 'se_b/init.mp4',
      parts: [{ uri: 'se_b/2.2.m4s', duration: 0.5, independent: true }],
    });
    expect(playlist?.preloadHint?.uri).toBe('se_b/2.3.m4s');
    // Published part numbers restart at 0 in the new segment (blocking requests, rendition reports).
    expect(playlistPosition(s, 'source')).toMatchObject({ lastMsn: 3, lastPart: 0 });

    s = run(s, 'se_b', 500, 6000, 9000);
    seg = source(s).segments.find((x) => x.msn === 3);
    expect(seg).toMatchObject({ complete: true, firstPart: 2, localMsn: 2 });
    expect(seg?.parts.map((p) => p.size)).toEqual([110, 111]); // local parts 2.2 and 2.3
    expect(source(s).segments.find((x) => x.msn === 4)).toMatchObject({ localMsn: 3, firstPart: 0 });
    playlist = buildMediaPlaylist(s, 'source', null);
    const joined = playlist?.segments.find((x) => x.msn === 3);
    expect(joined).toMatchObject({
      uri: 'se_b/2.2-.m4s',
      duration: 1, // EXTINF = the two published parts
      discontinuity: true,
      mapUri: 'se_b/init.mp4',
      parts: [
        { uri: 'se_b/2.2.m4s', duration: 0.5, independent: true },
        { uri: 'se_b/2.3.m4s', duration: 0.5, independent: false },
      ],
    });
    expect(playlist?.segments.find((x) => x.msn === 4)?.uri).toBe('se_b/3.m4s');
    expect(playlistPosition(s, 'source').partCounts(3)).toBe(2);
    const text = renderMediaPlaylist(playlist as NonNullable<typeof playlist>);
    expect(text).toContain(
      '#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="se_b/init.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:06.000Z\n' +
        '#EXT-X-PART:DURATION=0.5,URI="se_b/2.2.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.5,URI="se_b/2.3.m4s"\n' +
        '#EXTINF:1,\nse_b/2.2-.m4s\n',
    );
    // PDT monotonic over every published part.
    const pdts = source(s).segments.flatMap((x) => x.parts.map((p) => p.programDateTime));
    expect(pdts).toEqual([...pdts].sort((a, b) => a - b));
  });

  it('still refuses a keyframe that would repeat more than the allowance', () => {
    let s = start(S.emptyState(), 'se_p', 'primary', T0);
    s = start(s, 'se_b', 'backup', T0);
    s = run(s, 'se_p', 0, 0, 6000);
    s = run(s, 'se_b', -300, 0, 5200); // keyframes at 4700 (< 5000) and then 5700, not delivered yet
    expect(joinPoint(s, source(s), 'se_b')).toBeUndefined();
    s = run(s, 'se_b', -300, 5200, 6200);
    expect(joinPoint(s, source(s), 'se_b')).toEqual({ localMsn: 3, part: 0, programDateTime: T0 + 5700 });
  });

  it('announces the discontinuity of the next segment while the stream waits for a reconnect', () => {
    let s = start(S.emptyState(), 'se_a', 'primary', T0);
    s = run(s, 'se_a', 0, 0, 3000); // segment 0 complete, segment 1 open with two parts
    s = S.endSession(s, 'se_a', 'encoder closed', T0 + 3100).state;
    const paused = buildMediaPlaylist(s, 'source', null);
    // Segment 1 closed as it stands; msn 2 will follow a discontinuity whoever publishes next.
    expect(paused?.segments.map((x) => [x.msn, x.uri, x.discontinuity])).toEqual([
      [0, 'se_a/0.m4s', false],
      [1, 'se_a/1.m4s', false],
    ]);
    expect(paused?.openSegment).toMatchObject({ msn: 2, parts: [], discontinuity: true });
    expect(paused?.preloadHint).toBeNull();
    expect(renderMediaPlaylist(paused as NonNullable<typeof paused>)).toMatch(
      /se_a\/1\.m4s\n#EXT-X-DISCONTINUITY\n$/,
    );

    s = start(s, 'se_c', 'primary', T0 + 5000);
    s = run(s, 'se_c', 4500, 4500, 5500);
    const resumed = buildMediaPlaylist(s, 'source', null);
    expect(resumed?.openSegment).toMatchObject({ msn: 2, discontinuity: true, mapUri: 'se_c/init.mp4' });
    expect(resumed?.openSegment?.parts.length).toBe(2);
    // Ended: no announcement after the last segment.
    const ended = S.expireReconnect(S.endSession(s, 'se_c', 'bye', T0 + 6000).state, T0 + 20_000).state;
    expect(buildMediaPlaylist(ended, 'source', null)?.openSegment).toBeNull();
  });
});
