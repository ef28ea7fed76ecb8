/**
 * GOP planning: part sizes for a GOP, so that its keyframes open parts (RFC 8216bis 4.4.4.9 EXT-X-PART).
 *
 * When `partTarget` does not divide the GOP (0.333 s parts and 1 s GOPs at 30 fps: 9-frame parts), cutting at
 * the target puts the next keyframe inside a part. So each GOP is planned from the one before it: a short
 * INDEPENDENT opener, then parts of 85-100% of `partTarget` that end exactly on the next keyframe. A GOP that
 * comes out different from the plan just falls back to the cutter's rules (`part-cutter.ts`).
 */

/** RFC 8216bis 4.4.4.9: a part that is neither INDEPENDENT nor a segment's last is at least 85% of PART-TARGET. */
export const PART_FLOOR = 0.85;

/**
 * Part sizes, in frames, for a GOP of `frames` frames of `frameTicks` each, so that its last part ends exactly
 * on the next keyframe. The first part is as long as it can be: when it opens on the keyframe it is INDEPENDENT
 * and alone may be short; when it already holds `carried` frames from before the keyframe (which fell too early
 * in a part to open one) it is held to the floor like the rest. The others split the remaining frames evenly
 * between 85% and 100% of `partTarget` (ticks). Empty when no such split exists.
 */
export function planGopParts(frames: number, frameTicks: number, partTarget: number, carried = 0): number[] {
  const most = Math.floor(partTarget / frameTicks + 1e-6);
  const least = Math.ceil((PART_FLOOR * partTarget) / frameTicks - 1e-6);
  const shortest = carried > 0 ? Math.max(least, carried + 1) : 1;
  for (let first = Math.min(most, carried + frames); first >= shortest; first--) {
    const rest = carried + frames - first;
    const count = Math.ceil(rest / most);
    if (count > 0 && Math.floor(rest / count) < least) continue;
    const base = count > 0 ? Math.floor(rest / count) : 0;
    return [first, ...Array.from({ length: count }, (_, i) => base + (i < rest % count ? 1 : 0))];
  }
  return [];
}

/**
 * The GOP being cut on the video track: where it began (ticks), its frames so far, which of its parts is open,
 * and the part sizes planned for it from the GOP before.
 */
export class GopPlan {
  #start: number | undefined;
  #frames = 0;
  #part = 0;
  #plan: readonly number[] = [];

  /**
   * A keyframe at `dts` (ticks): measure the GOP it ends and plan the parts of the one it starts. `carried` is
   * how many frames the open part already holds (0 when the keyframe opened a part).
   */
  keyframe(dts: number, partTarget: number, carried: number): void {
    const previous = this.#start;
    const frames = this.#frames;
    this.#start = dts;
    this.#frames = 0;
    this.#part = 0;
    this.#plan = [];
    if (previous === undefined || frames === 0) return;
    // Planned even when the next keyframe closes the segment (that boundary is aligned anyway): the short part
    // is then the INDEPENDENT opener, not the segment's last part. hls.js takes a segment whose unbuffered tail
    // is shorter than its maxFragLookUpTolerance (0.25 s) as loaded when it loads whole segments, and skips a
    // two-frame last part, leaving a hole it stalls on.
    // A keyframe that could not open a part joins the open one, whose earlier frames the plan carries.
    this.#plan = planGopParts(frames, (dts - previous) / frames, partTarget, carried);
  }

  /** A video frame went into the open part. */
  frame(): void {
    this.#frames++;
  }

  /** The open part closed inside the GOP; the next one opens. */
  nextPart(): void {
    this.#part++;
  }

  /** Frames the plan gives the open part, or undefined when there is no plan for it. */
  get plannedFrames(): number | undefined {
    return this.#plan[this.#part];
  }
}
