/**
 * `stream.errored` conditions, evaluated on every relay health report (src/contract/health.ts). Pure: the
 * previous state and `now` (epoch ms) go in, the next state and the codes that were raised or cleared come out.
 * Debounced per code: a code is raised once, and only raised again after a report in which it cleared.
 */
import type { SessionHealthReport } from '../contract/health.ts';
import type { StreamConfig } from '../contract/ingest.ts';
import { type LatencyTarget, latencyTarget } from './viewer-latency.ts';

export const ALERT_CODES = [
  'keyframe-interval-out-of-range',
  'unsupported-codec',
  'bitrate-above-limit',
  'sustained-packet-loss',
  // The ABR ladder (issue 12, src/contract/health.ts LadderHealth): a rung's transcoder failed (its parts are
  // gaps until ffmpeg, restarted, rejoins), or the input is passed through alone.
  'rung-failed',
  'ladder-no-capacity',
  'ladder-unavailable',
  // Viewers' glass-to-glass p50 over the last minute is above the target by more than one part target
  // (viewer-latency.ts; issue 14): the delay crept up, or the players sit further back than the origin allows.
  'viewer-latency-high',
] as const;
export type AlertCode = (typeof ALERT_CODES)[number];

/**
 * An active alert: its code, or `code:rendition` for one about a rung, so each rung is debounced on its own (a
 * second rung failing while the first is down raises its own alert).
 */
export type AlertKey = string;

export interface AlertLimits {
  /** Keyframe interval bounds, seconds. Apple's HLS authoring spec asks for keyframes about every 2 s; LL-HLS
   * parts need INDEPENDENT ones often enough for a player to join, so above 4 s is an encoder misconfiguration. */
  keyframeMin: number;
  keyframeMax: number;
  /** The stream's `maxBitrate` config, bits/s; undefined: no limit. */
  maxBitrate?: number;
  /** Lost over lost-plus-received SRT packets above which loss counts as sustained (0-1). */
  lossRatio: number;
  /** Loss must hold over at least this long, ms. */
  lossWindowMs: number;
  /** The viewers' latency target, from the stream's part target; undefined: no latency alert. */
  viewerLatency?: LatencyTarget;
}

export const DEFAULT_ALERT_LIMITS: AlertLimits = {
  keyframeMin: 0.5,
  keyframeMax: 4,
  lossRatio: 0.05,
  lossWindowMs: 10_000,
};

/** Only what RTMP/SRT may carry into our CMAF: H.264 video (avc1/avc3) and AAC audio (mp4a.40.x). */
const SUPPORTED_CODEC = /^(avc1|avc3|mp4a\.40)/;

/** The limits of a stream: defaults, plus its `maxBitrate` (bits/s) and its latency target from its config. */
export function alertLimitsFor(config: Partial<StreamConfig> | null): AlertLimits {
  const max = config?.maxBitrate;
  const part = config?.partTarget;
  return {
    ...DEFAULT_ALERT_LIMITS,
    ...(max !== undefined && max > 0 ? { maxBitrate: max } : {}),
    ...(part !== undefined && part > 0 ? { viewerLatency: latencyTarget(part) } : {}),
  };
}

export interface AlertState {
  active: AlertKey[];
  /** SRT cumulative counters of recent reports, oldest first (packetsLost/Received are totals since connect). */
  srt: { at: number; received: number; lost: number }[];
}

export interface RaisedAlert {
  code: AlertCode;
  detail: string;
  /** The rendition (a ladder rung) the alert is about. */
  rendition?: string;
}

export interface AlertOutcome {
  state: AlertState;
  raised: RaisedAlert[];
  cleared: AlertKey[];
}

export function emptyAlertState(): AlertState {
  return { active: [], srt: [] };
}

/** What is wrong in this report, by key (independent of debouncing). */
function conditions(
  report: SessionHealthReport,
  limits: AlertLimits,
  srtLoss: number | null,
  viewersP50: number | null,
) {
  const found = new Map<AlertKey, RaisedAlert>();
  const set = (code: AlertCode, detail: string) => found.set(code, { code, detail });
  const kfi = report.video?.keyframeInterval;
  if (kfi !== undefined && (kfi < limits.keyframeMin || kfi > limits.keyframeMax)) {
    set(
      'keyframe-interval-out-of-range',
      `keyframe interval ${kfi} s is outside ${limits.keyframeMin}-${limits.keyframeMax} s`,
    );
  }
  for (const track of [report.video, report.audio]) {
    if (track && !SUPPORTED_CODEC.test(track.codec)) {
      set('unsupported-codec', `codec ${track.codec} is not H.264/AAC`);
    }
  }
  if (limits.maxBitrate !== undefined && report.ingestBitrate > limits.maxBitrate) {
    set(
      'bitrate-above-limit',
      `ingest bitrate ${report.ingestBitrate} b/s is above the stream's limit of ${limits.maxBitrate} b/s`,
    );
  }
  if (srtLoss !== null && srtLoss > limits.lossRatio) {
    set(
      'sustained-packet-loss',
      `SRT packet loss ${(srtLoss * 100).toFixed(1)} % over ${limits.lossWindowMs / 1000} s`,
    );
  }
  const latency = limits.viewerLatency;
  if (latency && viewersP50 !== null && viewersP50 > latency.alertAboveS) {
    set(
      'viewer-latency-high',
      `viewers' latency p50 ${viewersP50} s over the last minute is above the target ${latency.targetS} s by more than one part target`,
    );
  }
  for (const alert of ladderConditions(report)) {
    found.set(alert.rendition ? `${alert.code}:${alert.rendition}` : alert.code, alert);
  }
  return found;
}

/**
 * The ladder's: every failed rung (the source keeps playing; the rung is EXT-X-GAP until it rejoins), and an
 * input the relay passes through alone for want of CPU or of ffmpeg. A `passthrough` ladder is what the config
 * or the source's height asked for: no alert.
 */
function ladderConditions(report: SessionHealthReport): RaisedAlert[] {
  const ladder = report.ladder;
  if (!ladder) return [];
  const out: RaisedAlert[] = [];
  if (ladder.state === 'no-capacity' || ladder.state === 'unavailable') {
    const why =
      ladder.state === 'no-capacity' ? 'the relay has no CPU left for its ladder' : 'ffmpeg cannot run';
    out.push({ code: `ladder-${ladder.state}`, detail: `source only: ${ladder.reason ?? why}` });
  }
  for (const rung of ladder.rungs) {
    if (rung.state !== 'failed') continue;
    const detail = `rung ${rung.id} failed (${rung.gapParts} gap parts, ${rung.restarts} restarts)`;
    out.push({
      code: 'rung-failed',
      rendition: rung.id,
      detail: rung.reason ? `${detail}: ${rung.reason}` : detail,
    });
  }
  return out;
}

/** Loss ratio over the newest window of at least `lossWindowMs`, or null while the samples span less. */
function srtLossOver(samples: AlertState['srt'], windowMs: number): number | null {
  const newest = samples.at(-1);
  if (!newest) return null;
  let oldest: AlertState['srt'][number] | undefined;
  for (const s of samples) if (newest.at - s.at >= windowMs) oldest = s;
  if (!oldest) return null;
  const lost = newest.lost - oldest.lost;
  const total = lost + (newest.received - oldest.received);
  return total > 0 ? lost / total : 0;
}

/** `viewersP50`: viewers' glass-to-glass p50 (s) over the last minute (qoe.ts recentLatency), if known. */
export function evaluateAlerts(
  previous: AlertState,
  report: SessionHealthReport,
  limits: AlertLimits,
  now: number,
  viewersP50: number | null = null,
): AlertOutcome {
  let srt = previous.srt;
  if (report.srt) {
    const sample = { at: now, received: report.srt.packetsReceived, lost: report.srt.packetsLost };
    const last = srt.at(-1);
    // Counters going backwards mean a new connection: start the window again.
    const restarted = last !== undefined && (sample.received < last.received || sample.lost < last.lost);
    srt = [...(restarted ? [] : srt), sample].filter((s) => now - s.at <= limits.lossWindowMs * 3);
  }
  const found = conditions(report, limits, srtLossOver(srt, limits.lossWindowMs), viewersP50);
  const raised: RaisedAlert[] = [];
  for (const [key, alert] of found) if (!previous.active.includes(key)) raised.push(alert);
  const cleared = previous.active.filter((key) => !found.has(key));
  return { state: { active: [...found.keys()], srt }, raised, cleared };
}

/**
 * The relay refuses media it cannot package (FLV/TS demux: "unsupported video codec ...", "unsupported AAC
 * profile ...") and ends the session with that reason; this maps an end reason to an alert code.
 */
export function alertFromEndReason(reason: string): RaisedAlert | null {
  if (/unsupported (video |audio )?codec|unsupported AAC profile/i.test(reason)) {
    return { code: 'unsupported-codec', detail: reason.slice(0, 200) };
  }
  return null;
}
