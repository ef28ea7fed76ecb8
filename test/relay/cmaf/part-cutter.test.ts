import { describe, expect, it } from 'vitest';
import {
  type CutPoint,
  cutBefore,
  type OpenPart,
  PartCutter,
} from '../../../ingest-relay/src/cmaf/part-cutter.ts';
import type { Sample } from '../../../ingest-relay/src/cmaf/sample-timing.ts';

/** 25 fps video at 90 kHz: 3600 ticks a frame. */
const FRAME = 3600;
const sample = (frame: number, sync: boolean, ticks = FRAME): Sample => ({
  dts: frame * ticks,
  cto: 0,
  duration: ticks,
  data: new Uint8Array(1),
  sync,
  receivedAt: 1_700_000_000_000 + Math.round((frame * ticks) / 90),
});
const openPart = (frames: number, independent: boolean): OpenPart => ({
  primary: Array.from({ length: frames }, (_, i) => sample(i, i === 0 && independent)),
  duration: frames * FRAME,
  independent,
  msn: 0,
  part: 1,
  programDateTime: 0,
});
/** 0.2 s parts (18000 ticks: 5 frames), 1 s segments from 0. */
const at = (over: Partial<CutPoint> = {}): CutPoint => ({
  keyframe: false,
  segmentStart: 0,
  partTarget: 18_000,
  segmentTarget: 90_000 - 90,
  plannedFrames: undefined,
  ...over,
});

describe('cutBefore (RFC 8216bis 4.4.4.9)', () => {
  it('closes the segment on a keyframe at or past the segment target, before any part rule', () => {
    expect(cutBefore(openPart(2, false), sample(25, true), at({ keyframe: true }))).toBe('segment');
    expect(cutBefore(openPart(2, false), sample(24, true), at({ keyframe: true }))).toBe(undefined);
    // Audio-only: every sample is sync, so segments close on time alone.
    expect(cutBefore(openPart(2, true), sample(25, true), at())).toBe('segment');
  });

  it('closes a part when the next sample would take it past PART-TARGET', () => {
    expect(cutBefore(openPart(4, false), sample(4, false), at())).toBe(undefined);
    expect(cutBefore(openPart(5, false), sample(5, false), at())).toBe('part');
  });

  it('lets a keyframe open a part when the one before may close: >= 85% of PART-TARGET or INDEPENDENT', () => {
    // 8-frame parts (28800 ticks): 85% is 24480, so 7 frames (25200) may close and 6 (21600) may not.
    const key = at({ keyframe: true, partTarget: 28_800 });
    expect(cutBefore(openPart(6, false), sample(6, true), key)).toBe(undefined);
    expect(cutBefore(openPart(7, false), sample(7, true), key)).toBe('part');
    expect(cutBefore(openPart(2, true), sample(2, true), key)).toBe('part');
  });

  it('closes a part that holds the frames its GOP plan gave it', () => {
    expect(cutBefore(openPart(3, true), sample(3, false), at({ plannedFrames: 3 }))).toBe('part');
    expect(cutBefore(openPart(2, true), sample(2, false), at({ plannedFrames: 3 }))).toBe(undefined);
  });
});

describe('PartCutter', () => {
  const cut = (frames: number, gop: number, o = { partTarget: 0.2, segmentTarget: 1 }, ticks = FRAME) => {
    const stats = { pdtReanchors: 0 };
    const cutter = new PartCutter({ ...o, timescale: 90_000, firstMsn: 4, video: true }, stats);
    for (let f = 0; f < frames; f++) cutter.place(sample(f, f % gop === 0, ticks));
    cutter.close(true);
    return { closed: cutter.closed, stats };
  };

  it('numbers parts from 0 in each segment from firstMsn, and ends segments on keyframes', () => {
    const { closed } = cut(50, 25); // keyframes at 0 s and 1 s; 5-frame parts
    expect(closed.map((p) => [p.msn, p.part, p.primary.length, p.independent, p.segmentEnd])).toEqual([
      [4, 0, 5, true, false],
      [4, 1, 5, false, false],
      [4, 2, 5, false, false],
      [4, 3, 5, false, false],
      [4, 4, 5, false, true],
      [5, 0, 5, true, false],
      [5, 1, 5, false, false],
      [5, 2, 5, false, false],
      [5, 3, 5, false, false],
      [5, 4, 5, false, true],
    ]);
    expect(closed.map((p) => p.endSec)).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8, 2]);
  });

  it('stamps each part with the wall clock anchored at the first sample, spaced by media time', () => {
    const { closed, stats } = cut(25, 25);
    expect(closed.map((p) => p.programDateTime - 1_700_000_000_000)).toEqual([0, 200, 400, 600, 800]);
    expect(stats.pdtReanchors).toBe(0);
  });

  it('opens an INDEPENDENT part at a mid-segment keyframe once the GOP before it planned the parts', () => {
    // 30 fps, 1 s GOPs, 0.333 s parts (9 frames), 4 s segments. The keyframe at frame 30 falls 3 frames into a
    // part and joins it; the 33 frames to the next keyframe do not split into 9-frame parts, so it has no plan.
    // The keyframe at 60 falls 6 frames in: 36 frames do split (9, 9, 9, 9) and the keyframe at 90 opens a
    // part; from then on each GOP is planned as 3 + 9 + 9 + 9 frames.
    const { closed } = cut(150, 30, { partTarget: 0.333, segmentTarget: 4 }, 3000);
    const independentAt = closed.filter((p) => p.independent).map((p) => p.primary[0]!.dts / 3000);
    expect(independentAt).toEqual([0, 90, 120]);
    expect(closed.slice(-8).map((p) => p.primary.length)).toEqual([3, 9, 9, 9, 3, 9, 9, 9]);
  });
});
