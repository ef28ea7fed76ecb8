/**
 * The relay's health report (`POST .../sessions/{id}/health`, src/contract/health.ts) as a zod schema: what
 * the route accepts. A field the schema does not name is dropped, so every field of the contract is here.
 */
import { z } from 'zod';
import type { LadderHealth, SessionHealthReport } from '../contract/health.ts';
import { RENDITION_PATTERN } from '../contract/ingest.ts';
import { MAX_RUNGS } from '../contract/ladder.ts';

const RungHealthSchema = z.object({
  id: z.string().regex(RENDITION_PATTERN),
  state: z.enum(['ok', 'lagging', 'failed', 'starting']),
  width: z.number().int().nonnegative(),
  height: z.number().int().nonnegative(),
  videoBitrate: z.number().nonnegative(),
  lagMs: z.object({ p50: z.number().nonnegative(), p99: z.number().nonnegative() }).optional(),
  gapParts: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
  reason: z.string().max(500).optional(),
});

const LadderHealthSchema = z.object({
  state: z.enum(['active', 'passthrough', 'no-capacity', 'unavailable']),
  reason: z.string().max(500).optional(),
  rungs: z.array(RungHealthSchema).max(MAX_RUNGS),
}) satisfies z.ZodType<LadderHealth>;

const TrackSchema = z.object({
  codec: z.string().max(64),
  profile: z.string().max(64).optional(),
  bitrate: z.number().nonnegative(),
  frameRate: z.number().nonnegative().optional(),
  width: z.number().int().nonnegative().optional(),
  height: z.number().int().nonnegative().optional(),
  keyframeInterval: z.number().nonnegative().optional(),
  bFrames: z.boolean().optional(),
});

export const HealthReportSchema = z.object({
  at: z.number().int().nonnegative(),
  protocol: z.enum(['rtmp', 'rtmps', 'srt']),
  remoteAddress: z.string().max(128),
  ingestBitrate: z.number().nonnegative(),
  video: TrackSchema.optional(),
  audio: TrackSchema.optional(),
  avDriftMs: z.number().optional(),
  uploadLatencyMs: z.object({ p50: z.number().nonnegative(), p99: z.number().nonnegative() }).optional(),
  uploadRetries: z.number().int().nonnegative(),
  partsGivenUp: z.number().int().nonnegative(),
  srt: z
    .object({
      rttMs: z.number(),
      packetsReceived: z.number().int(),
      packetsLost: z.number().int(),
      packetsRetransmitted: z.number().int(),
      packetsDropped: z.number().int(),
      packetsUndecryptable: z.number().int(),
      bitrate: z.number(),
      latencyMs: z.number(),
    })
    .optional(),
  ladder: LadderHealthSchema.optional(),
  // 13-bit MPEG-TS PIDs; a PMT lists a handful of audio streams at most.
  ignoredAudioPids: z.array(z.number().int().min(0).max(0x1fff)).max(32).optional(),
}) satisfies z.ZodType<SessionHealthReport>;
