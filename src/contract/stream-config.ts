/**
 * The stream config: one zod schema (issue 11) for the REST API (request bodies and the OpenAPI document), the
 * registry's storage (a stored row read back through it) and the stream's Durable Object (the event's config).
 * A field is any zod type (numbers, strings, booleans, enums, lists), and says when a change to it applies:
 *
 *   `event`  fixed for an event (a first publish to EXT-X-ENDLIST): it shapes the media timeline, so a change
 *            applies at the next event. Changing PART-TARGET or SERVER-CONTROL under playing viewers is what
 *            RFC 8216bis 6.2.1 forbids and what stalls Apple players for good.
 *   `now`    applies at once, also during an event (policy and retention fields).
 *
 * Defaults of a new stream (DESIGN.md "Interfaces"): 333 ms parts, 2 s segments, 10 s reconnect window;
 * failover after 1.5 s without media from the active input (about four parts: long enough to ride out one
 * retried upload, short enough that a player holding PART-HOLD-BACK of 1 s stalls briefly), failback to the
 * primary after it delivered for 10 s.
 */
import { z } from '@hono/zod-openapi';
import { LadderSchema, type LadderSetting } from './ladder.ts';

export type ConfigApplies = 'event' | 'now';

interface ConfigField<T extends z.ZodType> {
  schema: T;
  default: z.output<T>;
  applies: ConfigApplies;
  /** For the OpenAPI document. */
  description: string;
}

function field<T extends z.ZodType>(
  schema: T,
  defaultValue: z.output<T>,
  applies: ConfigApplies,
  description: string,
): ConfigField<T> {
  return { schema, default: defaultValue, applies, description };
}

/**
 * Bounds, seconds. Parts below 100 ms cost more in requests than they save in latency; Apple's LL-HLS guidance
 * puts parts between a few hundred ms and 2 s. Segments above 10 s make LL-HLS hold-backs (3x target
 * duration, RFC 8216bis 4.4.3.8) absurd; below 1 s a segment holds too few parts to be worth a request.
 */
export const CONFIG_FIELDS = {
  partTarget: field(
    z.number().min(0.1).max(2),
    0.333,
    'event',
    'Target LL-HLS part duration (EXT-X-PART-INF PART-TARGET). Seconds, 0.1-2.',
  ),
  segmentTarget: field(
    z.number().min(1).max(10),
    2,
    'event',
    'A segment closes on the first keyframe at or after this; must be >= partTarget. Seconds, 1-10.',
  ),
  reconnectWindow: field(
    z.number().min(0).max(300),
    10,
    'event',
    'How long the stream stays live after the encoder disconnects, waiting for it to return. Seconds, 0-300.',
  ),
  failoverTimeout: field(
    z.number().min(0.5).max(10),
    1.5,
    'event',
    'With a backup encoder: how long the active input may deliver no media before the origin switches to the ' +
      'other. Seconds, 0.5-10.',
  ),
  failbackHoldOff: field(
    z.number().min(0).max(300),
    10,
    'event',
    'How long the primary must deliver without a gap before the origin switches back to it from the backup. ' +
      'Seconds, 0-300.',
  ),
  // Bits per second; 0 = no limit. 200 Mb/s is beyond any contribution encoder this relay is meant for.
  maxBitrate: field(
    z.number().int().min(0).max(200_000_000),
    0,
    'event',
    'Ingest bitrate limit in bits per second; above it, health raises the bitrate-above-limit alert ' +
      '(a stream.errored webhook). 0: no limit.',
  ),
  ladder: field(
    LadderSchema,
    'standard' as LadderSetting,
    'event',
    'The ABR ladder: "standard" (the source plus the 720p, 480p and 360p rungs strictly below its height), ' +
      '"passthrough" (the source only), or a list of at most 6 rungs {name, height, videoBitrate, maxFrameRate?}.',
  ),
  recording: field(
    z.boolean(),
    true,
    'event',
    'Keep each event as a recording (VOD playlists and an MP4 download, GET /v1/streams/{id}/recordings) ' +
      'after it ends. false: the media is not indexed, and nothing is kept beyond the live window.',
  ),
  dvrWindow: field(
    z.number().int().min(0).max(14_400),
    0,
    'event',
    'Seconds a live viewer may rewind (DVR): above 0 the stream has playback.dvr, a sliding-window playlist ' +
      'over that much of the event, with parts near the live edge. 0: no DVR. 0-14400 (4 hours).',
  ),
  retentionDays: field(
    z.number().int().min(1).max(3650),
    30,
    'now',
    "Days a recording is kept after its event ended; then the stream's object deletes it and its media. A " +
      'change applies at once, to recordings already made too. 1-3650.',
  ),
  playbackPolicy: field(
    z.enum(['public', 'signed']),
    'public' as 'public' | 'signed',
    'now',
    'Who may play: "public" (anyone with the URL) or "signed" (only with a playback token in the URL in place ' +
      'of the stream id, /live/{token}/master.m3u8). A change reaches every edge within 10 s.',
  ),
};

export type ConfigFields = Record<string, ConfigField<z.ZodType>>;
export type ConfigOf<F extends ConfigFields> = { [K in keyof F]: z.output<F[K]['schema']> };

type Fields = typeof CONFIG_FIELDS;
export type StreamConfigField = keyof Fields;

/** A stream's complete config. */
export type StreamConfig = ConfigOf<Fields>;

/** A config as it may arrive (older rows, older relays, tests): absent fields take their defaults. */
export type StreamConfigInput = Partial<StreamConfig> & Pick<StreamConfig, 'partTarget' | 'segmentTarget'>;

/** The schema of a complete config (the API's responses). */
export const StreamConfigSchema = z.object(
  Object.fromEntries(Object.entries(CONFIG_FIELDS).map(([k, f]) => [k, f.schema])) as {
    [K in StreamConfigField]: Fields[K]['schema'];
  },
);

export const DEFAULT_STREAM_CONFIG: StreamConfig = defaultsOf(CONFIG_FIELDS);

export function defaultsOf<F extends ConfigFields>(fields: F): ConfigOf<F> {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.default])) as ConfigOf<F>;
}

/**
 * A config read back from anywhere (a stored JSON row, an RPC argument): every field through its own schema,
 * falling back to its default when absent or invalid, so an older or damaged row never loses the others.
 * Generic over the field table so any field type round-trips, not just numbers.
 */
export function readConfig<F extends ConfigFields>(fields: F, raw: unknown): ConfigOf<F> {
  const source = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) {
    const parsed = Object.hasOwn(source, key) ? f.schema.safeParse(source[key]) : null;
    out[key] = parsed?.success ? parsed.data : f.default;
  }
  return out as ConfigOf<F>;
}

export function readStreamConfig(raw: unknown): StreamConfig {
  return readConfig(CONFIG_FIELDS, raw);
}

/**
 * The config a session joining a live event gets: the event's own, with the fields that apply at once taken
 * from the current one (the registry's).
 */
export function eventConfig(event: StreamConfig, current: StreamConfig): StreamConfig {
  const next: Record<string, unknown> = { ...event };
  for (const [key, f] of Object.entries(CONFIG_FIELDS) as [StreamConfigField, ConfigField<z.ZodType>][]) {
    if (f.applies === 'now') next[key] = current[key];
  }
  return next as StreamConfig;
}

export type ConfigResult =
  | { ok: true; config: StreamConfig }
  | { ok: false; field: StreamConfigField; detail: string };

/**
 * Applies a partial change to a config and checks the result as a whole: each field's schema and the one
 * cross-field rule, a segment holds at least one part (segmentTarget >= partTarget). Used for create (base =
 * defaults) and for PATCH (base = the stored config), so a PATCH of one field is checked against the others.
 */
export function resolveConfig(base: StreamConfigInput, change: Partial<StreamConfig>): ConfigResult {
  const merged: Record<string, unknown> = { ...DEFAULT_STREAM_CONFIG };
  for (const key of Object.keys(CONFIG_FIELDS) as StreamConfigField[]) {
    const value = change[key] ?? base[key];
    if (value !== undefined) merged[key] = value;
  }
  for (const [key, f] of Object.entries(CONFIG_FIELDS) as [StreamConfigField, ConfigField<z.ZodType>][]) {
    const parsed = f.schema.safeParse(merged[key]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const why = issue?.message ?? 'is invalid';
      // A list's issue names its element (`ladder.1.height`); a list or object is shown as JSON.
      const at = issue && issue.path.length > 0 ? `.${issue.path.map(String).join('.')}` : '';
      const got = typeof merged[key] === 'object' ? JSON.stringify(merged[key]) : String(merged[key]);
      return { ok: false, field: key, detail: `${key}${at}: ${why}, got ${got}` };
    }
  }
  const config = merged as StreamConfig;
  if (config.segmentTarget < config.partTarget) {
    return {
      ok: false,
      field: 'segmentTarget',
      detail: `segmentTarget (${config.segmentTarget}) must be at least partTarget (${config.partTarget})`,
    };
  }
  return { ok: true, config };
}
