/**
 * The multivariant playlist of a ladder, built from a stream's state by the reducers (issue 12): bandwidth
 * measured, else nominal, never 0; the start rung first; closed captions on all variants or on none.
 */
import { describe, expect, it } from 'vitest';
import { nominalBandwidth } from '../../../src/contract/ladder.ts';
import { renderMultivariantPlaylist } from '../../../src/hls/render-multivariant.ts';
import { buildMultivariantPlaylist, UNMEASURED_SOURCE_BANDWIDTH } from '../../../src/hls/variants.ts';
import { type DeliverOptions, deliver, start, T0 } from '../stream/inputs.ts';
import * as S from '../stream/room.ts';

const NOMINAL_480 = nominalBandwidth(1_400_000);
const NOMINAL_360 = nominalBandwidth(800_000);
const LADDER = ['source', '480p', '360p'];

/** A 720p source with the standard rungs of a 720p source, each init as the relay sends it. */
function ladderState(captions = false): S.StreamState {
  let s = start(S.emptyState(), 'se_a', 'primary', T0);
  s = S.putInit(s, 'se_a', 'source', {
    codecs: ['avc1.64001f', 'mp4a.40.2'],
    width: 1280,
    height: 720,
    frameRate: 30,
    closedCaptions: captions,
    size: 900,
  }).state;
  for (const [id, height, width, bw] of [
    ['480p', 480, 854, NOMINAL_480],
    ['360p', 360, 640, NOMINAL_360],
  ] as const) {
    const init = { codecs: ['avc1.64001e', 'mp4a.40.2'], width, height, frameRate: 30, size: 800 };
    s = S.putInit(s, 'se_a', id, { ...init, bandwidth: bw, closedCaptions: captions }).state;
  }
  return s;
}

/** Parts arriving up to `to` ms after T0; bytes per 0.5 s part by rendition. */
function run(s: S.StreamState, to: number, bytes: Record<string, number>, opts: DeliverOptions = {}) {
  return deliver(s, 'se_a', 0, 0, to, { renditions: LADDER, size: (r) => bytes[r] ?? 100, ...opts });
}

const order = (s: S.StreamState, hints = {}) =>
  buildMultivariantPlaylist(s, hints)?.variants.map((v) => [v.uri.split('/')[0], v.bandwidth]);

describe('buildMultivariantPlaylist for a ladder', () => {
  it('advertises nominal rungs and a fallback source until a segment completes, never 0', () => {
    const s = run(ladderState(), 1000, { source: 200_000 }); // two parts: no segment complete yet
    // No report: the source is twice the top rung's nominal; the start rung is the one at or below 2 Mb/s.
    expect(order(s)).toEqual([
      ['360p', NOMINAL_360],
      ['480p', NOMINAL_480],
      ['source', 2 * NOMINAL_480],
    ]);
    // With the relay's report, the encoder's own bitrate.
    expect(order(s, { ingestBitrate: 6_100_000 })).toEqual([
      ['360p', NOMINAL_360],
      ['480p', NOMINAL_480],
      ['source', 6_100_000],
    ]);
    const model = buildMultivariantPlaylist(s);
    expect(model?.variants.find((v) => v.uri.startsWith('source'))?.averageBandwidth).toBe(2 * NOMINAL_480);
    expect(model?.variants.map((v) => v.resolution?.height)).toEqual([360, 480, 720]);
    expect(model?.variants.map((v) => v.codecs)).toEqual([
      'avc1.64001e,mp4a.40.2',
      'avc1.64001e,mp4a.40.2',
      'avc1.64001f,mp4a.40.2',
    ]);
  });

  it('gives a lone unmeasured source a bandwidth that is not 0', () => {
    const s = deliver(start(S.emptyState(), 'se_a', 'primary', T0), 'se_a', 0, 0, 1000);
    expect(order(s)).toEqual([['source', UNMEASURED_SOURCE_BANDWIDTH]]);
    expect(order(s, { ingestBitrate: 0 })).toEqual([['source', UNMEASURED_SOURCE_BANDWIDTH]]);
  });

  it('measures complete segments and lists the rung nearest 2 Mb/s at or below it first', () => {
    // 0.5 s parts: 250 kB = 4 Mb/s, 100 kB = 1.6 Mb/s, 50 kB = 0.8 Mb/s.
    const s = run(ladderState(), 5000, { source: 250_000, '480p': 100_000, '360p': 50_000 });
    expect(order(s)).toEqual([
      ['480p', 1_600_000],
      ['360p', 800_000],
      ['source', 4_000_000],
    ]);
  });

  it('starts on the lowest when every variant is above 2 Mb/s', () => {
    const s = run(ladderState(), 5000, { source: 500_000, '480p': 200_000, '360p': 150_000 });
    expect(order(s)).toEqual([
      ['360p', 2_400_000],
      ['480p', 3_200_000],
      ['source', 8_000_000],
    ]);
  });

  it('leaves gap parts out of the measurement', () => {
    // The 480p rung is a gap for every other part: its media still streams at 1.6 Mb/s while it plays.
    const gap = (r: string, k: number) => r === '480p' && k % 2 === 1;
    const s = run(ladderState(), 5000, { source: 250_000, '480p': 100_000, '360p': 50_000 }, { gap });
    expect(order(s)?.[0]).toEqual(['480p', 1_600_000]);
    // All gaps: nothing measured, so the nominal again.
    const dark = run(ladderState(), 5000, { source: 250_000, '360p': 50_000 }, { gap: (r) => r === '480p' });
    expect(order(dark)).toContainEqual(['480p', NOMINAL_480]);
  });

  it('declares CLOSED-CAPTIONS=NONE on every variant without captions, a cc group on every one with', () => {
    const none = renderMultivariantPlaylist(
      buildMultivariantPlaylist(run(ladderState(false), 1000, {})) as NonNullable<
        ReturnType<typeof buildMultivariantPlaylist>
      >,
    );
    expect(none).not.toContain('EXT-X-MEDIA');
    expect(none.match(/CLOSED-CAPTIONS=NONE/g)).toHaveLength(3);
    const model = buildMultivariantPlaylist(run(ladderState(true), 1000, {}));
    expect(model?.media).toEqual([
      {
        type: 'CLOSED-CAPTIONS',
        groupId: 'cc',
        name: 'English',
        instreamId: 'CC1',
        default: true,
        autoselect: true,
      },
    ]);
    expect(model?.variants.map((v) => v.closedCaptions)).toEqual([
      { groupId: 'cc' },
      { groupId: 'cc' },
      { groupId: 'cc' },
    ]);
  });

  it('lists a rung only once its media playlist has a part', () => {
    const s = deliver(ladderState(), 'se_a', 0, 0, 1000, { renditions: ['source', '360p'] });
    expect(order(s)?.map(([id]) => id)).toEqual(['360p', 'source']);
  });
});
