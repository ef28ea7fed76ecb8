import type { StreamConfig } from '../contract/ingest.ts';

/**
 * Defaults of a new stream (DESIGN.md "Interfaces"): 333 ms parts, 2 s segments, 10 s reconnect window;
 * failover after 1.5 s without media from the active input (about four parts: long enough to ride out one
 * retried upload, short enough that a player holding PART-HOLD-BACK of 1 s stalls briefly), failback to the
 * primary after it delivered for 10 s.
 */
export const DEFAULT_STREAM_CONFIG: Required<StreamConfig> = {
  partTarget: 0.333,
  segmentTarget: 2,
  reconnectWindow: 10,
  failoverTimeout: 1.5,
  failbackHoldOff: 10,
  maxBitrate: 0,
};

/**
 * Bounds, seconds. Parts below 100 ms cost more in requests than they save in latency; Apple's LL-HLS guidance
 * puts parts between a few hundred ms and 2 s. Segments above 10 s make LL-HLS hold-backs (3x target
 * duration, RFC 8216bis 4.4.3.8) absurd; below 1 s a segment holds too few parts to be worth a request.
 */
export const CONFIG_LIMITS = {
  partTarget: { min: 0.1, max: 2 },
  segmentTarget: { min: 1, max: 10 },
  reconnectWindow: { min: 0, max: 300 },
  failoverTimeout: { min: 0.5, max: 10 },
  failbackHoldOff: { min: 0, max: 300 },
  // Bits per second; 0 = no limit. 200 Mb/s is beyond any contribution encoder this relay is meant for.
  maxBitrate: { min: 0, max: 200_000_000 },
} as const satisfies Record<keyof StreamConfig, { min: number; max: number }>;

/** SRT passphrase length, characters (SRT RFC draft, section 6.1.1: "10 to 79 characters"). */
export const SRT_PASSPHRASE_LIMITS = { min: 10, max: 79 } as const;

export type ConfigResult =
  | { ok: true; config: Required<StreamConfig> }
  | { ok: false; field: keyof StreamConfig; detail: string };

/**
 * Applies a partial change to a config and checks the result as a whole: the per-field ranges and the one
 * cross-field rule, a segment holds at least one part (segmentTarget >= partTarget). Used for create (base =
 * defaults) and for PATCH (base = the stored config), so a PATCH of one field is checked against the others.
 */
export function resolveConfig(base: StreamConfig, change: Partial<StreamConfig>): ConfigResult {
  const config: Required<StreamConfig> = {
    partTarget: change.partTarget ?? base.partTarget,
    segmentTarget: change.segmentTarget ?? base.segmentTarget,
    reconnectWindow: change.reconnectWindow ?? base.reconnectWindow,
    failoverTimeout: change.failoverTimeout ?? base.failoverTimeout ?? DEFAULT_STREAM_CONFIG.failoverTimeout,
    failbackHoldOff: change.failbackHoldOff ?? base.failbackHoldOff ?? DEFAULT_STREAM_CONFIG.failbackHoldOff,
    maxBitrate: change.maxBitrate ?? base.maxBitrate ?? DEFAULT_STREAM_CONFIG.maxBitrate,
  };
  for (const field of Object.keys(CONFIG_LIMITS) as (keyof StreamConfig)[]) {
    const { min, max } = CONFIG_LIMITS[field];
    const value = config[field];
    if (!Number.isFinite(value) || value < min || value > max) {
      const unit = field === 'maxBitrate' ? 'bits per second' : 'seconds';
      return { ok: false, field, detail: `${field} must be between ${min} and ${max} ${unit}, got ${value}` };
    }
  }
  if (config.segmentTarget < config.partTarget) {
    return {
      ok: false,
      field: 'segmentTarget',
      detail: `segmentTarget (${config.segmentTarget}) must be at least partTarget (${config.partTarget})`,
    };
  }
  return { ok: true, config };
}
