import { describe, expect, it } from 'vitest';
import { dumpBoxes } from '../../../ingest-relay/src/cmaf/inspect.ts';
import { initOutput, muxTracks, PartWriter } from '../../../ingest-relay/src/cmaf/output.ts';
import type { ClosedPart } from '../../../ingest-relay/src/cmaf/part-cutter.ts';
import type { Sample } from '../../../ingest-relay/src/cmaf/sample-timing.ts';
import { buildAvcC, parseSps } from '../../../ingest-relay/src/codec/h264.ts';
import { aacTrackConfig, h264TrackConfig } from '../../../ingest-relay/src/media/track-config.ts';
import { findBoxes, inspectMp4 } from './mux-inspect.ts';

// A real SPS/PPS (x264, High, 320x180, 25 fps VUI, no SAR).
const sps = Uint8Array.from(Buffer.from('6764000cacd941419f9f011000000300100000030320f1429960', 'hex'));
const pps = Uint8Array.from(Buffer.from('68ef8fcb', 'hex'));
const spsInfo = parseSps(sps);
if (!spsInfo.ok) throw new Error(spsInfo.error);
const video = h264TrackConfig(1000, buildAvcC(sps, [pps]), spsInfo.value);
const audio = aacTrackConfig(1000, Uint8Array.of(0x11, 0x90), {
  objectType: 2,
  sampleRate: 48000,
  channelCount: 2,
});

describe('initOutput', () => {
  it('lists the tracks video first, with the codec facts the track configs carry', () => {
    const init = initOutput(muxTracks([video, audio]));
    expect(init).toMatchObject({
      codecs: 'avc1.64000c,mp4a.40.2',
      resolution: '320x180',
      frameRate: 25,
      tracks: [video, audio],
    });
    const audioOnly = initOutput(muxTracks([audio]));
    expect(audioOnly.resolution).toBeUndefined();
    expect(audioOnly.frameRate).toBeUndefined();
  });

  it("writes the config's sample aspect ratio as pasp (ISO 14496-12 12.1.4), and none for 1:1", () => {
    const tree = (sar?: { width: number; height: number }) =>
      dumpBoxes(initOutput(muxTracks([{ ...video, sar }])).bytes);
    expect(tree({ width: 12, height: 11 })).toContain('pasp 16');
    expect(tree({ width: 1, height: 1 })).not.toContain('pasp');
    expect(tree(undefined)).not.toContain('pasp');
  });
});

describe('PartWriter', () => {
  const sample = (dts: number, duration: number): Sample => ({
    dts,
    cto: 0,
    duration,
    data: new Uint8Array(4),
    sync: true,
    receivedAt: 0,
  });
  const closed = (n: number): ClosedPart => ({
    primary: [sample(n * 3000, 3000)],
    duration: 3000,
    independent: true,
    msn: 2,
    part: n,
    programDateTime: 1_700_000_000_000 + n * 33,
    segmentEnd: n === 1,
    endSec: ((n + 1) * 3000) / 90_000,
  });

  it('numbers fragments from 1 and writes the audio traf only when the part has audio', () => {
    const [v, a] = muxTracks([video, audio]);
    const writer = new PartWriter(v!, a);
    const first = writer.write(closed(0), [sample(0, 1024)]);
    const second = writer.write(closed(1), []);
    expect(first).toMatchObject({ msn: 2, part: 0, duration: 3000 / 90_000, segmentEnd: false });
    expect(second).toMatchObject({ part: 1, programDateTime: 1_700_000_000_033, segmentEnd: true });
    const boxes = [first, second].map((p) => inspectMp4(p.bytes));
    expect(boxes.map((b) => findBoxes(b, 'mfhd')[0]!.sequenceNumber)).toEqual([1, 2]);
    expect(boxes.map((b) => findBoxes(b, 'tfhd').map((t) => t.trackId))).toEqual([[1, 2], [1]]);
  });
});
