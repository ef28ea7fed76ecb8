/**
 * The ABR ladder (issue 12): which renditions a stream carries besides `source`. One zod schema, part of the
 * stream config (stream-config.ts), and one pure resolution from the setting and the source's video, shared by
 * the relay (what its ffmpeg encodes) and the Worker (what it expects and advertises).
 *
 *   "passthrough"  the source only;
 *   "standard"     the source (never re-encoded) plus the rungs among 720p, 480p and 360p strictly below the
 *                  source's height, at 3.0, 1.4 and 0.8 Mb/s times min(fps/30, 1.5);
 *   [rungs]        an explicit list: at most 6, heights 144-2160 and even, 100 kb/s-20 Mb/s, unique URL-safe
 *                  names other than `source`. A rung at or above the source's height is left out: a ladder
 *                  never scales up.
 */
import { z } from '@hono/zod-openapi';

/** One rung of the ladder, as the API takes it. */
export interface Rung {
  /** The rendition id in URLs (`/live/{id}/{name}/...`). */
  name: string;
  /** Output height in pixels; the width follows the source's aspect ratio (rounded to even). */
  height: number;
  /** Target video bitrate, bits per second. */
  videoBitrate: number;
  /** Frames per second at most; the source's rate when absent or lower. */
  maxFrameRate?: number;
}

export type LadderSetting = 'standard' | 'passthrough' | Rung[];

/** The rendition id of the source, never re-encoded (contract/ingest.ts `SOURCE_RENDITION`). */
const SOURCE = 'source';
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const MAX_RUNGS = 6;

export const RungSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'must be 1-32 lowercase letters, digits, _ or -, starting with a letter or digit')
      .refine((n) => n !== SOURCE, 'is reserved for the source rendition'),
    height: z
      .number()
      .int()
      .min(144)
      .max(2160)
      .refine((h) => h % 2 === 0, 'must be even'),
    videoBitrate: z.number().int().min(100_000).max(20_000_000),
    maxFrameRate: z.number().min(1).max(120).optional(),
  })
  .strict();

export const LadderSchema = z.union([
  z.enum(['standard', 'passthrough']),
  z
    .array(RungSchema)
    .max(MAX_RUNGS)
    .refine((rungs) => new Set(rungs.map((r) => r.name)).size === rungs.length, 'rung names must be unique'),
]);

/** The standard rungs, tallest first: 720p, 480p, 360p at their 30 fps bitrates. */
export const STANDARD_RUNGS: readonly Rung[] = [
  { name: '720p', height: 720, videoBitrate: 3_000_000 },
  { name: '480p', height: 480, videoBitrate: 1_400_000 },
  { name: '360p', height: 360, videoBitrate: 800_000 },
];

/** The source's video as the relay sees it once its first keyframe is in. */
export interface SourceVideo {
  width: number;
  height: number;
  /** Frames per second; 30 when unknown. */
  frameRate?: number;
}

/** A rung to encode, with its output size and frame rate decided. */
export interface ResolvedRung extends Rung {
  width: number;
  /** Frames per second of the output: the source's, or `maxFrameRate` when that is lower. */
  frameRate: number;
}

/**
 * The rungs to encode for `setting` and `source`, tallest first (the source itself is never among them). The
 * standard bitrates scale with the frame rate, capped at 1.5x (a 60 fps source gets 4.5 Mb/s at 720p).
 */
export function resolveLadder(setting: LadderSetting, source: SourceVideo): ResolvedRung[] {
  if (setting === 'passthrough') return [];
  const fps = source.frameRate && source.frameRate > 0 ? source.frameRate : 30;
  const scale = setting === 'standard' ? Math.min(fps / 30, 1.5) : 1;
  const rungs = setting === 'standard' ? STANDARD_RUNGS : setting;
  return rungs
    .filter((r) => r.height < source.height)
    .map((r) => ({
      ...r,
      videoBitrate: Math.round(r.videoBitrate * scale),
      width: evenWidth(source, r.height),
      frameRate: r.maxFrameRate !== undefined ? Math.min(fps, r.maxFrameRate) : fps,
    }))
    .sort((a, b) => b.height - a.height);
}

function evenWidth(source: SourceVideo, height: number): number {
  return Math.max(2, Math.round((source.width * height) / source.height / 2) * 2);
}

/**
 * The peak bits per second a variant is advertised at until the origin has measured it (never 0: RFC 8216bis
 * 4.4.6.2 makes BANDWIDTH required, and a 0 makes players pick the rung first). A rung's VBV lets a part run
 * to about 1.5x its average over the 1 s buffer, plus the copied audio and the CMAF overhead.
 */
export function nominalBandwidth(videoBitrate: number, audioBitrate = 128_000): number {
  return Math.round(videoBitrate * 1.5 + audioBitrate * 1.1);
}
