import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpBoxes } from '../../../ingest-relay/src/cmaf/inspect.ts';
import {
  CmafSegmenter,
  type PartOutput,
  type SegmenterOptions,
  type SegmenterOutput,
} from '../../../ingest-relay/src/cmaf/segmenter.ts';
import { buildAvcC, parseSps } from '../../../ingest-relay/src/codec/h264.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { aacTrackConfig, h264TrackConfig } from '../../../ingest-relay/src/media/track-config.ts';
import { decodeErrors, ffprobeJson, withTempDir } from '../../support/ffmpeg.ts';
import { makeDemuxEvents } from './fixture.ts';
import { findBoxes, inspectMp4 } from './mux-inspect.ts';

function runSegmenter(events: readonly DemuxEvent[], options: SegmenterOptions): SegmenterOutput[] {
  const seg = new CmafSegmenter(options);
  const out: SegmenterOutput[] = [];
  for (const ev of events) out.push(...seg.push(ev));
  out.push(...seg.flush());
  return out;
}

const parts = (out: SegmenterOutput[]) => out.filter((o): o is PartOutput => o.type === 'part');

describe.each([
  { timescale: 1000, label: 'RTMP-like 1 kHz' },
  { timescale: 90000, label: 'MPEG-TS-like 90 kHz' },
])('CMAF segmenter on real x264 + AAC ($label)', ({ timescale }) => {
  it('cuts parts <= partTarget, segments on keyframes, continuous tfdt, and ffmpeg reads the result', async () => {
    await withTempDir(async (dir) => {
      const wallStart = 1_700_000_000_000;
      const { events } = await makeDemuxEvents(dir, {
        timescale,
        seconds: 4,
        gop: 30,
        bframes: 2,
        wallStart,
      });
      const partTarget = 0.333;
      const out = runSegmenter(events, { partTarget, segmentTarget: 2, firstMsn: 7 });
      const init = out[0]!;
      expect(init.type).toBe('init');
      if (init.type !== 'init') return;
      expect(init.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
      expect(init.resolution).toBe('320x180');
      expect(init.frameRate).toBe(30);

      const ps = parts(out);
      expect(out.filter((o) => o.type === 'config-changed')).toEqual([]);
      // Numbering: msn from firstMsn, part from 0 in each segment, segments end on segmentEnd parts.
      // Durations: RFC 8216bis 4.4.4.9's ceiling for every part, its 85% floor for all but INDEPENDENT parts and
      // a segment's last.
      let msn = 7;
      let index = 0;
      for (const p of ps) {
        expect([p.msn, p.part]).toEqual([msn, index]);
        expect(p.duration).toBeLessThanOrEqual(partTarget + 1e-9);
        if (index === 0) expect(p.independent).toBe(true);
        if (!p.independent && !p.segmentEnd) expect(p.duration).toBeGreaterThanOrEqual(0.85 * partTarget);
        if (p.segmentEnd) {
          msn++;
          index = 0;
        } else index++;
      }
      expect(ps.at(-1)!.segmentEnd).toBe(true);
      expect(new Set(ps.map((p) => p.msn))).toEqual(new Set([7, 8])); // 4 s, keyframes every 1 s, 2 s segments
      expect(ps.reduce((s, p) => s + p.duration, 0)).toBeCloseTo(4, 2);
      // 0.333 s parts do not divide the 1 s GOP (9-frame parts at 30 fps), so the first GOP's keyframe at 1 s
      // lands inside a part; from then on each GOP is planned from the one before, and the mid-segment keyframe
      // at 3 s opens an INDEPENDENT part (where a failover can join).
      let at = 0;
      const independentAt: number[] = [];
      for (const p of ps) {
        if (p.independent) independentAt.push(Math.round(at * 1000) / 1000);
        at += p.duration;
      }
      expect(independentAt).toEqual([0, 2, 3]);
      // PDT: anchored at the first keyframe, spaced by media time, monotonic.
      expect(ps[0]!.programDateTime).toBe(wallStart);
      for (let i = 1; i < ps.length; i++) {
        expect(ps[i]!.programDateTime - ps[i - 1]!.programDateTime).toBeCloseTo(
          ps[i - 1]!.duration * 1000,
          -1,
        );
      }

      // Independent reader: mux.js parses every box; sequence numbers rise; tfdt is continuous per track;
      // every segment's first sample is a sync sample.
      const nextTfdt = new Map<number, number>();
      ps.forEach((p, i) => {
        const boxes = inspectMp4(p.bytes);
        expect(boxes.map((b) => b.type)).toEqual(['moof', 'mdat']);
        expect(findBoxes(boxes, 'mfhd')[0]!.sequenceNumber).toBe(i + 1);
        const trafs = findBoxes(boxes, 'traf');
        for (const traf of trafs) {
          const trackId = findBoxes([traf], 'tfhd')[0]!.trackId!;
          const tfdt = findBoxes([traf], 'tfdt')[0]!.baseMediaDecodeTime!;
          const samples = findBoxes([traf], 'trun')[0]!.samples!;
          if (nextTfdt.has(trackId)) expect(tfdt).toBe(nextTfdt.get(trackId));
          nextTfdt.set(trackId, tfdt + samples.reduce((s, x) => s + x.duration, 0));
          if (trackId === 1 && p.independent) expect(samples[0]!.flags.isNonSyncSample).toBe(0);
        }
        expect(trafs.length).toBe(2);
      });

      const file = join(dir, 'out.mp4');
      await writeFile(file, Buffer.concat([init.bytes, ...ps.map((p) => p.bytes)]));
      expect(await decodeErrors(file)).toBe('');
      const probe = (await ffprobeJson(file)) as {
        streams: { codec_name: string; width?: number; height?: number; sample_rate?: string }[];
        format: { duration: string };
      };
      expect(probe.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
      expect(probe.streams[0]).toMatchObject({ width: 320, height: 180 });
      expect(probe.streams[1]!.sample_rate).toBe('48000');
      expect(Number(probe.format.duration)).toBeGreaterThan(3.9);
      expect(Number(probe.format.duration)).toBeLessThan(4.2);
    });
  }, 60_000);
});

describe('CMAF segmenter rules', () => {
  // A real SPS/PPS (x264, High, 320x180, 25 fps VUI), fixed here so the golden box tree never moves.
  const sps = Uint8Array.from(Buffer.from('6764000cacd941419f9f011000000300100000030320f1429960', 'hex'));
  const pps = Uint8Array.from(Buffer.from('68ef8fcb', 'hex'));
  const spsInfo = parseSps(sps);
  if (!spsInfo.ok) throw new Error(spsInfo.error);
  const videoTrack = (avcC: Uint8Array) => h264TrackConfig(1000, avcC, spsInfo.value);
  const video: DemuxEvent = { type: 'config', track: videoTrack(buildAvcC(sps, [pps])) };
  // AudioSpecificConfig 0x1190: AAC LC, 48 kHz, 2 channels.
  const asc = new Uint8Array([0x11, 0x90]);
  const audioTrack = aacTrackConfig(1000, asc, { objectType: 2, sampleRate: 48000, channelCount: 2 });
  const audio: DemuxEvent = { type: 'config', track: audioTrack };
  const v = (ms: number, keyframe: boolean, size = 100): DemuxEvent => ({
    type: 'unit',
    unit: { kind: 'video', dts: ms, pts: ms, keyframe, data: new Uint8Array(size), receivedAt: 5000 + ms },
  });
  const a = (ms: number): DemuxEvent => ({
    type: 'unit',
    unit: {
      kind: 'audio',
      dts: ms,
      pts: ms,
      keyframe: true,
      data: new Uint8Array(10),
      receivedAt: 5000 + ms,
    },
  });
  /** 25 fps video (40 ms) with keyframes every `gop` frames, from frame `from`; audio every 21.333 ms. */
  const stream = (frames: number, gop: number, from = 0) => {
    const evs: DemuxEvent[] = [];
    for (let f = from; f < frames; f++) {
      evs.push(v(f * 40, f % gop === 0));
      for (let k = Math.ceil((f * 40 * 48) / 1024); (k * 1024) / 48 < (f + 1) * 40; k++)
        evs.push(a(Math.round((k * 1024) / 48)));
    }
    return evs;
  };

  it('matches the golden box tree of an init segment and a part', async () => {
    const out = runSegmenter([video, audio, ...stream(10, 10)], {
      partTarget: 0.2,
      segmentTarget: 1,
      firstMsn: 0,
    });
    const init = out[0]!.type === 'init' ? out[0]!.bytes : new Uint8Array(0);
    const dump = `# init\n${dumpBoxes(init)}# part 0\n${dumpBoxes(parts(out)[0]!.bytes)}`;
    const goldenUrl = new URL('../../fixtures/relay/cmaf-boxes.golden.txt', import.meta.url);
    // UPDATE_GOLDEN=1 rewrites the file after a deliberate layout change; review its diff.
    if (process.env.UPDATE_GOLDEN) await writeFile(goldenUrl, dump);
    const golden = await readFile(goldenUrl, 'utf8');
    expect(dump).toBe(golden);
  });

  it('drops video before the first keyframe (counted), then starts with an independent part', () => {
    const seg = new CmafSegmenter({ partTarget: 0.2, segmentTarget: 1, firstMsn: 0 });
    const out: SegmenterOutput[] = [];
    for (const ev of [video, audio, ...stream(60, 25, 3)]) out.push(...seg.push(ev));
    out.push(...seg.flush());
    expect(seg.stats.droppedBeforeKeyframe).toBeGreaterThanOrEqual(22);
    const ps = parts(out);
    expect(ps[0]).toMatchObject({ msn: 0, part: 0, independent: true });
    expect(ps.filter((p) => p.segmentEnd).length).toBe(2); // keyframes at 1.0 s and 2.0 s (frames 25, 50)
    for (const p of ps) expect(p.duration).toBeLessThanOrEqual(0.2);
  });

  it('opens an INDEPENDENT part at each mid-segment keyframe once a GOP is known, never breaking the floor', () => {
    // 25 fps, keyframes every 25 frames (1 s), 0.333 s parts, 4 s segments.
    const out = runSegmenter([video, audio, ...stream(200, 25)], {
      partTarget: 0.333,
      segmentTarget: 4,
      firstMsn: 0,
    });
    const ps = parts(out);
    const starts: number[] = [];
    let at = 0;
    for (const p of ps) {
      expect(p.duration).toBeLessThanOrEqual(0.333);
      if (!p.independent && !p.segmentEnd) expect(p.duration).toBeGreaterThanOrEqual(0.85 * 0.333);
      if (p.independent) starts.push(Math.round(at * 1000) / 1000);
      at += p.duration;
    }
    // The first segment's keyframes have no GOP to plan from and land inside parts; the next segment opens on
    // a keyframe, is planned from the GOP before it, and every keyframe in it opens a part.
    expect(starts).toEqual([0, 4, 5, 6, 7]);
    // The short part of a planned GOP is its INDEPENDENT opener, never a segment's last part (hls.js skips a
    // tail shorter than its lookup tolerance when it loads whole segments).
    for (const p of ps.filter((x) => x.segmentEnd && x.msn > 0))
      expect(p.duration).toBeGreaterThanOrEqual(0.28);
    // A keyframe that comes early (a scene cut) inside a planned GOP stays within the rules.
    const early = runSegmenter([video, audio, ...stream(60, 25), ...stream(100, 13, 60)], {
      partTarget: 0.333,
      segmentTarget: 4,
      firstMsn: 0,
    });
    for (const p of parts(early)) {
      expect(p.duration).toBeLessThanOrEqual(0.333);
      if (!p.independent && !p.segmentEnd) expect(p.duration).toBeGreaterThanOrEqual(0.85 * 0.333);
    }
  });

  it('puts a planned part out as the frame after its last arrives, not one frame later', () => {
    // 25 fps: frame f is v(f * 40), and the helper sends the audio for its span right after it.
    // `plannedFrom`: the first frame of a GOP planned from the one before. At 0.333 s parts the first segment's
    // keyframes fall inside parts and leave no plan (the test above), so planning starts with the second
    // segment; 0.2 s parts (5 frames) divide a 25-frame GOP, so the second GOP is planned.
    for (const { partTarget, segmentTarget, plannedFrom } of [
      { partTarget: 0.333, segmentTarget: 4, plannedFrom: 100 },
      { partTarget: 0.2, segmentTarget: 1, plannedFrom: 25 },
    ]) {
      const seg = new CmafSegmenter({ partTarget, segmentTarget, firstMsn: 0 });
      seg.push(video);
      seg.push(audio);
      /** For each part: the index of its last frame, and of the video frame whose push put it out. */
      const seen: { last: number; outAt: number; segmentEnd: boolean }[] = [];
      let end = 0;
      let frame = -1;
      for (const ev of stream(400, 25)) {
        if (ev.type === 'unit' && ev.unit.kind === 'video') frame++;
        for (const p of parts(seg.push(ev))) {
          end += p.duration;
          seen.push({ last: Math.round(end / 0.04) - 1, outAt: frame, segmentEnd: p.segmentEnd });
        }
      }
      // In a planned GOP every cut is known when the frame after the part arrives; before, it waited for the
      // frame after that one, which completes it.
      const planned = seen.filter((p) => p.last >= plannedFrom);
      expect(planned.length).toBeGreaterThan(20);
      expect(planned.filter((p) => p.segmentEnd).length).toBeGreaterThanOrEqual(2);
      for (const p of planned) expect(p.outAt - p.last, JSON.stringify(p)).toBe(1);
    }
  });

  it('cuts audio-only streams on audio time', () => {
    const evs = [audio, ...stream(50, 25).filter((e) => e.type === 'unit' && e.unit.kind === 'audio')];
    const out = runSegmenter(evs, { partTarget: 0.25, segmentTarget: 1, firstMsn: 3 });
    expect(out[0]).toMatchObject({ type: 'init', codecs: 'mp4a.40.2' });
    const ps = parts(out);
    expect(ps.every((p) => p.duration <= 0.25 && p.independent)).toBe(true);
    expect(ps.filter((p) => p.segmentEnd).length).toBe(2);
    expect(ps.reduce((s, p) => s + p.duration, 0)).toBeCloseTo(2, 1);
  });

  it('on a changed codec configuration closes its last part as a segment end and stops; a repeat is harmless', () => {
    const changed: DemuxEvent = { type: 'config', track: videoTrack(buildAvcC(sps, [pps, pps])) };
    const seg = new CmafSegmenter({ partTarget: 0.2, segmentTarget: 1, firstMsn: 0 });
    const before: SegmenterOutput[] = [];
    for (const ev of [video, audio, ...stream(30, 25), video]) before.push(...seg.push(ev));
    expect(before.some((o) => o.type === 'config-changed')).toBe(false);
    const out = seg.push(changed);
    const last = parts(out);
    expect(last.length).toBeGreaterThan(0); // the held-back video and the open part
    expect(last.at(-1)?.segmentEnd).toBe(true);
    expect(out.at(-1)).toMatchObject({ type: 'config-changed', kind: 'video', after: changed.track });
    expect(out.filter((o) => o.type === 'config-changed')).toHaveLength(1);
    expect(seg.push(v(5000, true))).toEqual([]);
    expect(seg.flush()).toEqual([]);
  });
});
