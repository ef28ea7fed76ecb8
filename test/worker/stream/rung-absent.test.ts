/**
 * A session that does not upload a rung the event published before (issue 12): a reconnect through a relay
 * with no ffmpeg or no CPU for a ladder, or whose ladder lacks that rung. Players loaded the rung's media
 * playlist from the multivariant and keep reloading it, so it must not stall: it follows the source as gaps
 * (msn, durations, PDT, discontinuities), part by part, with nothing hinted, until an input uploads it again.
 * Stepped time; 0.5 s parts, four to a segment, keyframes on part 0.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist } from '../../../src/hls/from-state.ts';
import { renderMediaPlaylist } from '../../../src/hls/render-media.ts';
import { buildMultivariantPlaylist } from '../../../src/hls/variants.ts';
import { lastPosition } from '../../../src/stream/timeline.ts';
import { deliver, start, T0 } from './inputs.ts';
import * as S from './room.ts';

const RUNG = '360p';
const both = { renditions: ['source', RUNG] };

function withRung(state: S.StreamState, sessionId: string): S.StreamState {
  return S.putInit(state, sessionId, RUNG, { codecs: ['avc1.42c01e'], bandwidth: 1_340_800, size: 800 })
    .state;
}

/** A session whose source init names `ladder` (`ingest-renditions`) and which has no rung init yet. */
function startNaming(state: S.StreamState, sessionId: string, at: number, ladder: string[]): S.StreamState {
  const s = start(state, sessionId, 'primary', at);
  return S.putInit(s, sessionId, 'source', { codecs: ['avc1.64001f'], size: 900, ladder }).state;
}

/** Each published segment as [msn, discontinuity, duration, first PDT, part count, complete]. */
function shape(s: S.StreamState, id: string) {
  return S.renditionOf(s, id)?.segments.map((x) => [
    x.msn,
    x.discontinuity,
    S.segmentDuration(x),
    x.parts[0]?.programDateTime,
    x.parts.length,
    x.complete,
  ]);
}

const gaps = (s: S.StreamState, id: string) =>
  S.renditionOf(s, id)?.segments.map((x) => x.parts.map((p) => (p.gap ? 'g' : 'm')).join(''));

function playlist(s: S.StreamState, id: string) {
  const m = buildMediaPlaylist(s, id, null);
  if (!m) throw new Error(`no playlist for ${id}`);
  return m;
}

/** Session se_1 publishes source and rung (msn 0 and 1), ends; se_2 reconnects at 5 s. */
function reconnected(second: (s: S.StreamState) => S.StreamState): S.StreamState {
  let s = withRung(start(S.emptyState(), 'se_1', 'primary', T0), 'se_1');
  s = deliver(s, 'se_1', 0, 0, 4000, both);
  s = S.endSession(s, 'se_1', 'encoder closed', T0 + 4100).state;
  return second(s);
}

describe('a rung the joined session does not upload', () => {
  it('follows the source part by part as gaps, and rejoins with media when an input uploads it again', () => {
    // se_2 comes through a relay that admitted no ladder: its source init names no rung.
    let s = reconnected((x) => start(x, 'se_2', 'primary', T0 + 5000));
    s = deliver(s, 'se_2', 5000, 5000, 11_600);
    // Source: 0, 1 (se_1), then se_2's 2, 3, 4 complete and 5 open with one part. The rung: the same, as gaps.
    expect(shape(s, RUNG)).toEqual(shape(s, 'source'));
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg', 'gggg', 'gggg', 'g']);
    expect(lastPosition(S.renditionOf(s, RUNG)!)).toEqual(lastPosition(S.renditionOf(s, 'source')!));

    const rung = playlist(s, RUNG);
    const source = playlist(s, 'source');
    expect(rung.mediaSequence).toBe(source.mediaSequence);
    expect(rung.discontinuitySequence).toBe(source.discontinuitySequence);
    expect(rung.preloadHint).toBeNull(); // no part of it will come from se_2
    expect(source.preloadHint).not.toBeNull();
    const text = renderMediaPlaylist(rung);
    // Complete segments of gaps are EXT-X-GAP (their URIs are se_2's numbers, never served: 404 no-store).
    expect(text).toContain('#EXT-X-GAP\n#EXTINF:2,\nse_2/2.m4s\n');
    expect(text).toContain('#EXT-X-PART:DURATION=0.5,URI="se_2/5.0.m4s",INDEPENDENT=YES,GAP=YES\n');
    // New players get the source alone; ones already on the rung keep a moving playlist.
    expect(buildMultivariantPlaylist(s)?.variants.map((v) => v.uri)).toEqual([
      expect.stringMatching(/^source\//),
    ]);

    // Parts listed as gaps stay as listed while the segment goes on.
    const before = rung.openSegment?.parts;
    s = deliver(s, 'se_2', 5000, 11_600, 12_100);
    expect(playlist(s, RUNG).openSegment?.parts.slice(0, before?.length)).toEqual(before);

    // se_3 comes with its ladder: joined at the same msn in both, with its own media, after a discontinuity.
    s = S.endSession(s, 'se_2', 'encoder closed', T0 + 12_200).state;
    s = withRung(start(s, 'se_3', 'primary', T0 + 13_000), 'se_3');
    s = deliver(s, 'se_3', 13_000, 13_000, 17_000, both);
    expect(shape(s, RUNG)).toEqual(shape(s, 'source'));
    const back = S.renditionOf(s, RUNG)?.segments.filter((x) => x.sessionId === 'se_3') ?? [];
    expect(back.map((x) => [x.discontinuity, x.parts.every((p) => !p.gap)])).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(back.map((x) => x.msn)).toEqual([6, 7]);
    expect(playlist(s, RUNG).preloadHint?.uri).toBe('se_3/8.0.m4s');
  });

  it('pads only complete segments while a rung the session names has not started, then takes its media', () => {
    // se_2's ladder is starting: its source init names the rung, whose own init comes with its first part.
    let s = reconnected((x) => startNaming(x, 'se_2', T0 + 5000, [RUNG]));
    s = deliver(s, 'se_2', 5000, 5000, 7600);
    // Source: se_2's 2 is complete, 3 open. The rung keeps 2's msn as gaps and leaves 3 for its own part 0.
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg']);
    expect(gaps(s, 'source')?.at(-1)).toBe('m');
    expect(playlist(s, RUNG).preloadHint).toBeNull();

    // The rung starts late: its init, then se_2's parts from 2.0 on, after the source's 2 completed. The msn
    // listed as gaps stays as listed; the rung's media is published from the next segment on, in step.
    s = withRung(s, 'se_2');
    expect(playlist(s, RUNG).preloadHint?.uri).toBe('se_2/3.0.m4s'); // past the gaps it lists for se_2
    s = deliver(s, 'se_2', 5000, 5000, 7600, { renditions: [RUNG] });
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg', 'm']);
    s = deliver(s, 'se_2', 5000, 7600, 9600, both);
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg', 'mmmm', 'm']);
    expect(shape(s, RUNG)).toEqual(shape(s, 'source'));
    expect(playlist(s, RUNG).preloadHint?.uri).toBe('se_2/4.1.m4s');
  });

  it('starts a rung whose first part comes after segments it was listed as gaps for', () => {
    // The rung's ffmpeg missed se_2's first segment, so the relay's first rung upload is local 3.0, not 2.0.
    let s = reconnected((x) => startNaming(x, 'se_2', T0 + 5000, [RUNG]));
    s = deliver(s, 'se_2', 5000, 5000, 7600);
    s = withRung(s, 'se_2');
    s = deliver(s, 'se_2', 5000, 7400, 7600, { renditions: [RUNG] });
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg', 'm']);
    s = deliver(s, 'se_2', 5000, 7600, 9600, both);
    expect(gaps(s, RUNG)).toEqual(['mmmm', 'mmmm', 'gggg', 'mmmm', 'm']);
    expect(shape(s, RUNG)).toEqual(shape(s, 'source'));
  });

  it('keeps its msn through a session with no ladder longer than the retained window', () => {
    let s = reconnected((x) => start(x, 'se_2', 'primary', T0 + 5000));
    s = deliver(s, 'se_2', 5000, 5000, 100_000);
    const msns = (id: string) => S.renditionOf(s, id)?.segments.map((x) => x.msn);
    expect(msns(RUNG)).toEqual(msns('source'));
    expect(msns('source')?.[0]).toBeGreaterThan(2); // pruned like the source's
    expect(S.renditionOf(s, RUNG)?.prunedDiscontinuities).toBe(
      S.renditionOf(s, 'source')?.prunedDiscontinuities,
    );
  });
});
