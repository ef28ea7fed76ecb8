/**
 * Viewers' glass-to-glass latency (their QoE beacons: now minus the program-date-time of the frame on screen)
 * against the stream's target (issue 14 item 4). The target is where the player page's controller holds the
 * playhead (public/player/latency-control.js): PART-HOLD-BACK as the playlists advertise it (3 part targets,
 * src/hls/from-state.ts) plus 0.1 s for the jitter of a part's publication. Viewers are off target when the p50
 * of the last minute's beacons is above it by more than one part target: `viewer-latency-high` (alerts.ts).
 */
import type { Spread } from './qoe.ts';

/** The span whose beacons the alert reads, ms. */
export const LATENCY_ALERT_SPAN_MS = 60_000;
/** Added to PART-HOLD-BACK, s: the page's margin for when a part is published (latency-control.js MARGIN). */
const PUBLISH_MARGIN_S = 0.1;

export interface LatencyTarget {
  /** Seconds: PART-HOLD-BACK + 0.1 s. */
  targetS: number;
  /** Seconds: the target plus one part target; a last-minute p50 above it raises the alert. */
  alertAboveS: number;
}

/** The target for a stream cut into parts of `partTarget` seconds. */
export function latencyTarget(partTarget: number): LatencyTarget {
  const targetS = round3(3 * partTarget + PUBLISH_MARGIN_S);
  return { targetS, alertAboveS: round3(targetS + partTarget) };
}

/** What health shows: the 5-minute spread, the last minute's, and the target they are read against. */
export interface ViewerLatency extends LatencyTarget {
  /** Seconds, over the QoE window (5 minutes). */
  window: Spread | null;
  /** Seconds, over the last minute; null until beacons cover it. */
  lastMinute: Spread | null;
  /** The last minute's p50 is above `alertAboveS`. */
  aboveTarget: boolean;
}

export function viewerLatency(
  target: LatencyTarget,
  window: Spread | null,
  lastMinute: Spread | null,
): ViewerLatency {
  return {
    ...target,
    window,
    lastMinute,
    aboveTarget: lastMinute !== null && lastMinute.p50 > target.alertAboveS,
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
