// The FLV demuxer over real tags (an FLV file ffmpeg writes, read tag by tag) and hand-made edge cases.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAvcC } from '../../../ingest-relay/src/codec/h264.ts';
import { FlvDemuxer } from '../../../ingest-relay/src/demux/flv.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { type FlvTag, readFlvTags, writeFlvClip } from './flv-file.ts';

function feed(demux: FlvDemuxer, tags: FlvTag[]): DemuxEvent[] {
  return tags.flatMap((t) =>
    t.type === 9
      ? demux.video(t.body, t.timestamp, 0)
      : t.type === 8
        ? demux.audio(t.body, t.timestamp, 0)
        : [],
  );
}

const avcTag = (frameType: number, packetType: number, cts: number, payload: number[]) =>
  Uint8Array.of(
    (frameType << 4) | 7,
    packetType,
    (cts >> 16) & 0xff,
    (cts >> 8) & 0xff,
    cts & 0xff,
    ...payload,
  );

describe('FlvDemuxer', () => {
  let tags: FlvTag[];
  let avcC: Uint8Array;
  let packetCount: { video: number; audio: number };

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'flv-test-'));
    try {
      const file = writeFlvClip(dir, { seconds: 2, bframes: 2 });
      tags = readFlvTags(readFileSync(file));
      const count = (stream: string) =>
        Number(
          execFileSync('ffprobe', [
            ...['-v', 'error', '-select_streams', stream, '-count_packets'],
            ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
          ])
            .toString()
            .trim(),
        );
      packetCount = { video: count('v:0'), audio: count('a:0') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const header = tags.find((t) => t.type === 9 && t.body[1] === 0)!;
    avcC = header.body.subarray(5);
  });

  it('turns a real FLV into configs and every packet ffprobe counts, with B-frame offsets', () => {
    const events = feed(new FlvDemuxer(), tags);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const configs = events.flatMap((e) => (e.type === 'config' ? [e.track] : []));
    expect(configs).toMatchObject([
      {
        kind: 'video',
        codec: 'h264',
        width: 320,
        height: 240,
        timescale: 1000,
        codecString: expect.stringMatching(/^avc1\.6400[0-9a-f]{2}$/),
        // Codec facts read once from the SPS, here, and carried downstream in the config.
        profile: 'High',
        frameRate: 30,
      },
      {
        kind: 'audio',
        codec: 'aac',
        sampleRate: 44100,
        channelCount: 1,
        codecString: 'mp4a.40.2',
        objectType: 2,
        profile: 'LC',
      },
    ]);
    const units = events.flatMap((e) => (e.type === 'unit' ? [e.unit] : []));
    const video = units.filter((u) => u.kind === 'video');
    expect(video.length).toBe(packetCount.video);
    expect(units.filter((u) => u.kind === 'audio').length).toBe(packetCount.audio);
    expect(video.some((u) => u.pts > u.dts)).toBe(true); // -bf 2: composition offsets
    expect(video.filter((u) => u.keyframe).map((u) => u.dts)).toEqual([0, 1000]);
  });

  it('announces a config again only when the sequence header changes', () => {
    const demux = new FlvDemuxer();
    const header = avcTag(1, 0, 0, [...avcC]);
    expect(demux.video(header, 0, 0).map((e) => e.type)).toEqual(['config']);
    expect(demux.video(header, 40, 0)).toEqual([]);
    const changed = Uint8Array.from(avcC);
    changed[changed.byteLength - 1] = changed.at(-1)! ^ 0x01; // a different PPS byte
    expect(demux.video(avcTag(1, 0, 0, [...changed]), 80, 0).map((e) => e.type)).toEqual(['config']);
  });

  it('rewrites 2-byte NAL lengths to the 4-byte form its avcC announces', () => {
    const demux = new FlvDemuxer();
    const short = Uint8Array.from(avcC);
    short[4] = 0xfd; // lengthSizeMinusOne = 1
    const [config] = demux.video(avcTag(1, 0, 0, [...short]), 0, 0);
    if (config?.type !== 'config' || config.track.kind !== 'video') throw new Error('no config');
    expect(parseAvcC(config.track.avcC)).toMatchObject({ ok: true, value: { nalLengthSize: 4 } });
    const [unit] = demux.video(avcTag(1, 1, 0, [0, 3, 0x65, 0x88, 0x84]), 0, 7);
    expect(unit).toEqual({
      type: 'unit',
      unit: {
        kind: 'video',
        dts: 0,
        pts: 0,
        keyframe: true,
        data: Uint8Array.of(0, 0, 0, 3, 0x65, 0x88, 0x84),
        receivedAt: 7,
      },
    });
  });

  it('unwraps 32-bit RTMP timestamps and reads negative composition offsets as an error', () => {
    const demux = new FlvDemuxer();
    demux.video(avcTag(1, 0, 0, [...avcC]), 0, 0);
    const frame = [0, 0, 0, 2, 0x41, 0x9a];
    const dts = [0xffffffe0, 0xfffffff0, 0x10].map((ts) => {
      const [e] = demux.video(avcTag(2, 1, 0, frame), ts, 0);
      return e?.type === 'unit' ? e.unit.dts : -1;
    });
    expect(dts).toEqual([0xffffffe0, 0xfffffff0, 2 ** 32 + 0x10]);
    const events = demux.video(avcTag(2, 1, 0xfffff6, frame), 0x20, 0); // cts -10
    expect(events.map((e) => e.type)).toEqual(['error', 'unit']);
  });

  it('drops frames before the sequence header, then gives up after the limit', () => {
    const demux = new FlvDemuxer({ maxFramesBeforeConfig: 2 });
    const frame = avcTag(2, 1, 0, [0, 0, 0, 2, 0x41, 0x9a]);
    expect(demux.video(frame, 0, 0)).toEqual([
      { type: 'error', reason: 'video frame before its sequence header, dropped', fatal: false },
    ]);
    expect(demux.video(frame, 33, 0)[0]).toMatchObject({ fatal: false });
    expect(demux.video(frame, 66, 0)).toEqual([
      { type: 'error', reason: '2 video frames arrived without a sequence header', fatal: true },
    ]);
    expect(demux.video(frame, 99, 0)).toEqual([]);
  });

  const refusals: Array<[string, 'video' | 'audio', Uint8Array, string]> = [
    [
      'Sorenson H.263',
      'video',
      Uint8Array.of(0x12, 0, 0),
      'unsupported video codec id 2 (Sorenson H.263): send H.264',
    ],
    ['VP6', 'video', Uint8Array.of(0x14, 0), 'unsupported video codec id 4 (On2 VP6): send H.264'],
    [
      'HEVC (id 12)',
      'video',
      Uint8Array.of(0x1c, 0, 0, 0, 0),
      'unsupported video codec id 12 (HEVC): send H.264',
    ],
    [
      'enhanced RTMP HEVC',
      'video',
      Uint8Array.of(0x90, ...Buffer.from('hvc1')),
      "unsupported video codec 'hvc1' (enhanced RTMP): send H.264",
    ],
    ['MP3', 'audio', Uint8Array.of(0x2f, 0xff), 'unsupported audio codec id 2 (MP3): send AAC-LC'],
    ['Speex', 'audio', Uint8Array.of(0xb6, 0), 'unsupported audio codec id 11 (Speex): send AAC-LC'],
    [
      'enhanced RTMP Opus',
      'audio',
      Uint8Array.of(0x90, ...Buffer.from('Opus')),
      "unsupported audio codec 'Opus' (enhanced RTMP): send AAC-LC",
    ],
    // AudioSpecificConfig object type 5 (SBR), 44.1 kHz, stereo, extension 48 kHz.
    [
      'HE-AAC',
      'audio',
      Uint8Array.of(0xaf, 0, 0x2a, 0x11, 0x98, 0x80),
      'unsupported AAC profile HE-AAC: send AAC-LC',
    ],
  ];
  for (const [name, kind, body, reason] of refusals) {
    it(`refuses ${name} with a fatal error that says what to send`, () => {
      const demux = new FlvDemuxer();
      const events = kind === 'video' ? demux.video(body, 0, 0) : demux.audio(body, 0, 0);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'error', fatal: true });
      expect(events[0]?.type === 'error' && events[0].reason).toMatch(
        new RegExp(`^${reason.replace(/[()]/g, '\\$&')}`),
      );
    });
  }

  it('skips the empty AAC sequence header ffmpeg writes first when it copies ADTS audio', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flv-test-'));
    try {
      const adts = join(dir, 'a.adts');
      const flv = join(dir, 'a.flv');
      const ff = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
      execFileSync('ffmpeg', [...ff, '-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', adts]);
      execFileSync('ffmpeg', [...ff, '-i', adts, '-c', 'copy', '-f', 'flv', flv]);
      const copied = readFlvTags(readFileSync(flv));
      expect([...(copied.find((t) => t.type === 8)?.body ?? [])]).toEqual([0xaf, 0]); // empty AudioSpecificConfig
      const events = feed(new FlvDemuxer(), copied);
      expect(events.filter((e) => e.type === 'error')).toEqual([
        { type: 'error', reason: 'empty AAC sequence header, ignored', fatal: false },
      ]);
      expect(events.filter((e) => e.type === 'config')).toMatchObject([
        { track: { codecString: 'mp4a.40.2' } },
      ]);
      expect(events.filter((e) => e.type === 'unit').length).toBeGreaterThan(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes parameter sets that change in-band, without a new sequence header, as a new config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flv-test-'));
    try {
      const ff = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
      for (const size of ['320x180', '480x270']) {
        const src = `testsrc2=size=${size}:rate=30:duration=1`;
        execFileSync('ffmpeg', [
          ...ff,
          '-f',
          'lavfi',
          '-i',
          src,
          '-c:v',
          'libx264',
          '-g',
          '30',
          join(dir, `${size}.ts`),
        ]);
      }
      writeFileSync(join(dir, 'list.txt'), "file '320x180.ts'\nfile '480x270.ts'\n");
      const flv = join(dir, 'joined.flv');
      execFileSync('ffmpeg', [
        ...ff,
        '-f',
        'concat',
        '-i',
        join(dir, 'list.txt'),
        '-c',
        'copy',
        '-f',
        'flv',
        flv,
      ]);
      const joined = readFlvTags(readFileSync(flv));
      expect(joined.filter((t) => t.type === 9 && t.body[1] === 0)).toHaveLength(1); // one sequence header
      const events = feed(new FlvDemuxer(), joined);
      const configs = events.flatMap((e, i) => (e.type === 'config' ? [{ i, track: e.track }] : []));
      expect(configs.map((c) => c.track)).toMatchObject([
        { width: 320, height: 180 },
        { width: 480, height: 270 },
      ]);
      const second = configs[1]!;
      expect(parseAvcC((second.track as { avcC: Uint8Array }).avcC).ok).toBe(true);
      expect(events[second.i + 1]).toMatchObject({ type: 'unit', unit: { kind: 'video', keyframe: true } });
      const video = events.filter((e) => e.type === 'unit' && e.unit.kind === 'video');
      expect(video).toHaveLength(60);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed AVC sequence header and ignores command frames', () => {
    const demux = new FlvDemuxer();
    expect(demux.video(Uint8Array.of(0x57, 0), 0, 0)).toEqual([]); // frame type 5: video info/command frame
    expect(demux.video(avcTag(1, 0, 0, [1, 0x64]), 0, 0)).toMatchObject([{ type: 'error', fatal: true }]);
  });
});
