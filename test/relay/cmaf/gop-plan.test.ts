import { describe, expect, it } from 'vitest';
import { GopPlan, planGopParts } from '../../../ingest-relay/src/cmaf/gop-plan.ts';

describe('planGopParts', () => {
  it('plans each GOP so its parts end on the next keyframe, within 4.4.4.9 (PART-TARGET, 85% floor)', () => {
    // 30 fps, 1 s GOPs, 0.333 s parts: at most 9 frames (10 are 0.3336 s), at least 9 (8 are under 85%).
    expect(planGopParts(30, 3000, 29970)).toEqual([3, 9, 9, 9]);
    // 0.2 s parts divide the GOP: the plan is what cutting at the target gives anyway.
    expect(planGopParts(30, 3000, 18000)).toEqual([6, 6, 6, 6, 6]);
    // 0.4 s parts (11-12 frames): the rest is split evenly so no part falls under the floor.
    expect(planGopParts(30, 3000, 36000)).toEqual([8, 11, 11]);
    // 25 fps, 2 s GOP, 0.333 s parts (8 frames; 7 are under 85%).
    expect(planGopParts(50, 3600, 29970)).toEqual([2, 8, 8, 8, 8, 8, 8]);
    // A GOP shorter than one part is one part.
    expect(planGopParts(5, 3000, 29970)).toEqual([5]);
    // Frames longer than the part target: no plan.
    expect(planGopParts(30, 40000, 29970)).toEqual([]);
    // A keyframe that fell 2 frames into a part (too early to open one) joins it. At 30 fps and 0.333 s the
    // parts before the next keyframe would all have to be exactly 9 frames: 32 is no multiple, so no plan.
    expect(planGopParts(30, 3000, 29970, 2)).toEqual([]);
    // With 0.4 s parts at 25 fps (9-10 frames) the 27 frames split: 2 carried + 7, then 9 and 9.
    expect(planGopParts(25, 3600, 36000, 2)).toEqual([9, 9, 9]);
  });
});

describe('GopPlan', () => {
  /** `frames` video frames of 3000 ticks (30 fps at 90 kHz) after a keyframe at `at`. */
  const gop = (plan: GopPlan, at: number, frames: number, carried = 0) => {
    plan.keyframe(at, 29970, carried);
    for (let i = 0; i < frames; i++) plan.frame();
  };

  it('has no plan for the first GOP: there is no GOP before it to measure', () => {
    const plan = new GopPlan();
    gop(plan, 0, 30);
    expect(plan.plannedFrames).toBeUndefined();
  });

  it('plans the GOP a keyframe opens from the one it closes, part by part', () => {
    const plan = new GopPlan();
    gop(plan, 0, 30);
    plan.keyframe(90_000, 29970, 0);
    const sizes: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      sizes.push(plan.plannedFrames);
      plan.nextPart();
    }
    expect(sizes).toEqual([3, 9, 9, 9, undefined]);
  });

  it('carries the frames of a part the keyframe joined, and plans nothing when they cannot split', () => {
    const plan = new GopPlan();
    gop(plan, 0, 30);
    plan.keyframe(90_000, 29970, 2);
    expect(plan.plannedFrames).toBeUndefined();
    // A GOP of 27 frames at 25 fps with 0.4 s parts: 2 carried + 7, then 9 and 9.
    const p25 = new GopPlan();
    p25.keyframe(0, 36000, 0);
    for (let i = 0; i < 25; i++) p25.frame();
    p25.keyframe(90_000, 36000, 2);
    expect(p25.plannedFrames).toBe(9);
  });
});
