import { describe, expect, it } from 'vitest';
import { AudioInterleave } from '../../../ingest-relay/src/cmaf/audio-interleave.ts';
import type { ClosedPart } from '../../../ingest-relay/src/cmaf/part-cutter.ts';
import type { Sample } from '../../../ingest-relay/src/cmaf/sample-timing.ts';

/** 48 kHz AAC frames (1024 ticks), frame `k`. */
const frame = (k: number): Sample => ({
  dts: k * 1024,
  cto: 0,
  duration: 1024,
  data: new Uint8Array(1),
  sync: true,
  receivedAt: 0,
});
/** A closed video part whose span ends at `endSec`. */
const part = (endSec: number): ClosedPart => ({
  primary: [],
  duration: 0,
  independent: true,
  msn: 0,
  part: 0,
  programDateTime: 0,
  segmentEnd: false,
  endSec,
});
const at = { videoAtSec: undefined, final: false, last: false };

describe('AudioInterleave', () => {
  const filled = (frames: number) => {
    const interleave = new AudioInterleave(48_000, 0.5);
    for (let k = 0; k < frames; k++) interleave.push(frame(k));
    return interleave;
  };

  it('waits until the audio covers the part, then gives it the frames that start inside its span', () => {
    const interleave = filled(10); // 10 frames: up to 0.2133 s
    expect(interleave.take(part(0.25), { ...at, audioEnd: 10 * 1024 })).toBeUndefined();
    const taken = interleave.take(part(0.2), { ...at, audioEnd: 10 * 1024 })!;
    // Frames starting before 0.2 s (9600 ticks): 0..9.
    expect(taken.map((s) => s.dts / 1024)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const next = filled(12);
    expect(next.take(part(0.2), { ...at, audioEnd: 12 * 1024 })!.length).toBe(10);
    expect(next.take(part(0.4), { ...at, audioEnd: 12 * 1024, videoAtSec: 0.6 })).toBeUndefined();
  });

  it('stops waiting for audio that is behind once `audioWait` seconds of video came after the part', () => {
    const interleave = filled(3);
    expect(interleave.take(part(0.2), { ...at, audioEnd: 3 * 1024, videoAtSec: 0.69 })).toBeUndefined();
    expect(interleave.take(part(0.2), { ...at, audioEnd: 3 * 1024, videoAtSec: 0.75 })!.length).toBe(3);
  });

  it('at the end gives every part its audio, and the last part all that is left', () => {
    const interleave = filled(20);
    const final = { ...at, audioEnd: 20 * 1024, final: true };
    expect(interleave.take(part(0.1), final)!.length).toBe(5);
    expect(interleave.take(part(0.2), { ...final, last: true })!.length).toBe(15);
  });
});
