import { beforeAll, describe, expect, it } from 'vitest';
import {
  aacCodecString,
  ascFromAdts,
  buildAudioSpecificConfig,
  parseAdtsFrames,
  parseAudioSpecificConfig,
} from '../../../ingest-relay/src/codec/aac.ts';
import { makeElementaryStreams, withTempDir } from '../../support/ffmpeg.ts';

describe('AAC from a real ffmpeg ADTS stream', () => {
  let adts: Uint8Array = new Uint8Array(0);
  beforeAll(async () => {
    await withTempDir(async (dir) => {
      ({ adts } = await makeElementaryStreams(dir, { seconds: 1, audioRate: 44100, audioChannels: 2 }));
    });
  }, 60_000);

  it('splits ADTS frames and derives the AudioSpecificConfig', () => {
    const { frames, rest, skipped } = parseAdtsFrames(adts);
    expect(rest.byteLength).toBe(0);
    expect(skipped).toBe(0);
    // 1 s at 44.1 kHz is 43.07 frames of 1024 samples; the encoder adds priming/flush frames.
    expect(frames.length).toBeGreaterThanOrEqual(43);
    const h = frames[0]!.header;
    expect(h).toMatchObject({ objectType: 2, sampleRate: 44100, channelConfig: 2, headerLength: 7 });
    const asc = ascFromAdts(h);
    expect([...asc]).toEqual([0x12, 0x10]);
    expect(parseAudioSpecificConfig(asc)).toEqual({
      ok: true,
      value: { objectType: 2, sampleRate: 44100, channelCount: 2 },
    });
    expect(aacCodecString(asc)).toBe('mp4a.40.2');
  });

  it('keeps an incomplete frame as rest, on any chunk boundary, and resyncs after garbage', () => {
    const all = parseAdtsFrames(adts).frames.length;
    for (const cut of [3, 8, 200, 1001]) {
      const first = parseAdtsFrames(adts.subarray(0, cut));
      const joined = new Uint8Array([...first.rest, ...adts.subarray(cut)]);
      expect(first.frames.length + parseAdtsFrames(joined).frames.length).toBe(all);
    }
    const noisy = new Uint8Array([1, 2, 3, 0xff, 0x00, ...adts]);
    const r = parseAdtsFrames(noisy);
    expect(r.frames.length).toBe(all);
    expect(r.skipped).toBe(5);
  });

  it('parses ADTS with CRC (protection_absent = 0)', () => {
    const payload = new Uint8Array([0x21, 0x10, 0x05]);
    const len = 9 + payload.length;
    // syncword, MPEG-4, layer 0, protection_absent 0; LC, 48 kHz (index 3), 2 channels; frame_length; fullness
    const header = [0xff, 0xf0, 0x4c, 0x80, (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc, 0xab, 0xcd];
    const { frames } = parseAdtsFrames(new Uint8Array([...header, ...payload]));
    expect(frames).toHaveLength(1);
    expect([...frames[0]!.data]).toEqual([...payload]);
    expect(frames[0]!.header).toMatchObject({ headerLength: 9, sampleRate: 48000, channelConfig: 2 });
  });

  it('builds and parses configs, including explicit HE-AAC signalling', () => {
    const lc = buildAudioSpecificConfig({ objectType: 2, sampleRate: 48000, channelConfig: 1 });
    expect(parseAudioSpecificConfig(lc)).toMatchObject({
      ok: true,
      value: { sampleRate: 48000, channelCount: 1 },
    });
    // AOT 5 (SBR), core 24 kHz (6), stereo, extension 48 kHz (3), core AOT 2
    const he = new Uint8Array([0x2b, 0x11, 0x88, 0x00]);
    expect(parseAudioSpecificConfig(he)).toMatchObject({
      ok: true,
      value: { objectType: 5, sampleRate: 48000 },
    });
    expect(parseAudioSpecificConfig(new Uint8Array([0x12]))).toMatchObject({ ok: false });
    expect(parseAudioSpecificConfig(new Uint8Array([0x17, 0x90]))).toMatchObject({ ok: false });
  });
});
