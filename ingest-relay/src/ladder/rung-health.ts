/**
 * A rung's health for the session's report (contract/health.ts RungHealth): its state, its lag behind the
 * source over the interval (the lags are taken: each report covers the parts since the last), gaps, restarts.
 */
import type { RungHealth } from '../../../src/contract/health.ts';
import type { ResolvedRung } from '../../../src/contract/ladder.ts';

/** What health reads of a rung's runtime (ladder.ts RungRuntime). */
export interface RungView {
  rung: ResolvedRung;
  /** Its first part went out. */
  started: boolean;
  /** Rung part ready minus source part ready, ms, since the last report (taken by `rungHealth`). */
  lags: number[];
  gapParts: number;
  lastWasGap: boolean;
}

export interface HealthContext {
  /** ffmpeg is not running (restarting, or unavailable). */
  down: boolean;
  reason: string | undefined;
  restarts: number;
  /** Seconds. */
  partTarget: number;
}

export function rungHealth(r: RungView, ctx: HealthContext): RungHealth {
  const lags = r.lags.sort((a, b) => a - b);
  r.lags = [];
  const lagMs = lags.length > 0 ? { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99) } : undefined;
  const { down, reason } = ctx;
  const state = rungState({
    down,
    started: r.started,
    lastWasGap: r.lastWasGap,
    p99: lagMs?.p99,
    lagLimitMs: ctx.partTarget * 1000,
  });
  const h: RungHealth = {
    id: r.rung.name,
    state,
    width: r.rung.width,
    height: r.rung.height,
    videoBitrate: r.rung.videoBitrate,
    gapParts: r.gapParts,
    restarts: ctx.restarts,
  };
  if (lagMs) h.lagMs = lagMs;
  if (state === 'failed' && reason) h.reason = reason;
  if (state === 'lagging') h.reason = `parts trail the source's by ${Math.round(lagMs?.p99 ?? 0)} ms p99`;
  return h;
}

function quantile(sorted: readonly number[], q: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
}

/**
 * health.ts RungState: `failed` while ffmpeg is down (restarting) or the rung's latest part was a gap,
 * `starting` until its first part, `lagging` when its parts trail the source's by more than one part target.
 */
function rungState(o: {
  down: boolean;
  started: boolean;
  lastWasGap: boolean;
  p99: number | undefined;
  lagLimitMs: number;
}): RungHealth['state'] {
  if (o.down) return 'failed';
  if (!o.started) return 'starting';
  if (o.lastWasGap) return 'failed';
  return o.p99 !== undefined && o.p99 > o.lagLimitMs ? 'lagging' : 'ok';
}
