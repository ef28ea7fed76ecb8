/**
 * Everything the stream's Durable Object knows about monitoring, in one value it holds in memory: viewer QoE
 * (qoe.ts), origin request counts (origin.ts), the object's own part commit latency, the alert state
 * (alerts.ts) and a short history of relay reports for the dashboard's charts. Alerts and history are kept per
 * input (session): the primary's and the backup's reports never share debouncing, and the stream's view is the
 * active input's (issue 11). All of it describes the last
 * few minutes, so it is not persisted: an evicted object starts these figures afresh.
 */
import type { SessionHealthReport } from '../contract/health.ts';
import {
  type AlertLimits,
  type AlertOutcome,
  type AlertState,
  emptyAlertState,
  evaluateAlerts,
} from './alerts.ts';
import { addOriginCounts, emptyOriginCounts, type OriginCounts } from './origin.ts';
import {
  emptyQoe,
  type QoeDigest,
  type QoeSummary,
  type QoeWindow,
  quantile,
  recentLatency,
  recordQoeDigest,
  summarizeQoe,
} from './qoe.ts';
import { LATENCY_ALERT_SPAN_MS, type ViewerLatency, viewerLatency } from './viewer-latency.ts';

const HISTORY_MS = 5 * 60_000;
const MAX_LATENCIES = 512;

/** One point of the dashboard's charts, from one relay report. */
export interface HealthPoint {
  /** Epoch ms the report arrived. */
  at: number;
  /** Bits per second. */
  ingestBitrate: number;
  videoBitrate: number | null;
  frameRate: number | null;
  /** Seconds. */
  keyframeInterval: number | null;
  avDriftMs: number | null;
  uploadP50Ms: number | null;
  srtRttMs: number | null;
  /** Percent of SRT packets lost since the previous report. */
  srtLossPct: number | null;
}

export interface MonitoringHealth {
  qoe: QoeSummary;
  origin: OriginCounts & {
    /** Cache hits over media requests, 0-1; null before any media request. */
    cacheHitRatio: number | null;
    /** Relay part-complete (program-date-time + duration) to committed here, ms, over recent parts. */
    commitLatencyMs: { p50: number; p99: number; count: number } | null;
  };
  alerts: { active: string[] };
  history: HealthPoint[];
  /** Viewers' glass-to-glass latency against the stream's target; null without a part target. */
  latency: ViewerLatency | null;
}

/** One input's ingest view: its alert state and its recent reports. */
interface InputMonitor {
  alerts: AlertState;
  history: HealthPoint[];
  lastSrt: { received: number; lost: number } | null;
}

/** Inputs whose figures are kept: the live primary and backup and a couple that just ended. */
const INPUTS_KEPT = 4;

export class StreamMonitor {
  #qoe: QoeWindow = emptyQoe();
  #origin: OriginCounts = emptyOriginCounts();
  #commitLatencies: number[] = [];
  readonly #inputs = new Map<string, InputMonitor>();

  /** A new publishing session: its alerts and ingest history start afresh; other inputs' carry on. */
  sessionStarted(sessionId: string): void {
    this.#inputs.delete(sessionId);
    this.#input(sessionId);
  }

  #input(sessionId: string): InputMonitor {
    let input = this.#inputs.get(sessionId);
    if (!input) {
      input = { alerts: emptyAlertState(), history: [], lastSrt: null };
      this.#inputs.set(sessionId, input);
      for (const old of this.#inputs.keys()) {
        if (this.#inputs.size <= INPUTS_KEPT) break;
        this.#inputs.delete(old);
      }
    }
    return input;
  }

  /** Alert codes active for one input. */
  alertsOf(sessionId: string): string[] {
    return [...(this.#inputs.get(sessionId)?.alerts.active ?? [])];
  }

  recordQoe(digest: QoeDigest, now: number): void {
    this.#qoe = recordQoeDigest(this.#qoe, digest, now);
  }

  recordOrigin(counts: OriginCounts): void {
    this.#origin = addOriginCounts(this.#origin, counts);
  }

  partCommitted(latencyMs: number): void {
    if (!Number.isFinite(latencyMs)) return;
    this.#commitLatencies.push(Math.max(0, latencyMs));
    if (this.#commitLatencies.length > MAX_LATENCIES) this.#commitLatencies.shift();
  }

  relayReport(
    sessionId: string,
    report: SessionHealthReport,
    limits: AlertLimits,
    now: number,
  ): AlertOutcome {
    const input = this.#input(sessionId);
    const viewersP50 = recentLatency(this.#qoe, now, LATENCY_ALERT_SPAN_MS)?.p50 ?? null;
    const outcome = evaluateAlerts(input.alerts, report, limits, now, viewersP50);
    input.alerts = outcome.state;
    let lossPct: number | null = null;
    if (report.srt) {
      const prev = input.lastSrt;
      const cur = { received: report.srt.packetsReceived, lost: report.srt.packetsLost };
      if (prev && cur.received >= prev.received && cur.lost >= prev.lost) {
        const lost = cur.lost - prev.lost;
        const total = lost + cur.received - prev.received;
        lossPct = total > 0 ? Math.round((lost / total) * 10_000) / 100 : 0;
      }
      input.lastSrt = cur;
    }
    input.history = input.history.filter((p) => now - p.at <= HISTORY_MS);
    input.history.push({
      at: now,
      ingestBitrate: report.ingestBitrate,
      videoBitrate: report.video?.bitrate ?? null,
      frameRate: report.video?.frameRate ?? null,
      keyframeInterval: report.video?.keyframeInterval ?? null,
      avDriftMs: report.avDriftMs ?? null,
      uploadP50Ms: report.uploadLatencyMs?.p50 ?? null,
      srtRttMs: report.srt?.rttMs ?? null,
      srtLossPct: lossPct,
    });
    return outcome;
  }

  /** The stream's view: viewer and origin figures, and the ingest alerts and history of the active input. */
  /** `limits`: the stream's (alertLimitsFor), whose latency target viewers' latency is read against. */
  summary(activeSessionId: string | null, now: number, limits: AlertLimits): MonitoringHealth {
    const active = activeSessionId === null ? undefined : this.#inputs.get(activeSessionId);
    const sorted = [...this.#commitLatencies].sort((a, b) => a - b);
    const o = this.#origin;
    const qoe = summarizeQoe(this.#qoe, now);
    const target = limits.viewerLatency;
    return {
      qoe,
      latency: target
        ? viewerLatency(target, qoe.latencySeconds, recentLatency(this.#qoe, now, LATENCY_ALERT_SPAN_MS))
        : null,
      origin: {
        ...o,
        cacheHitRatio: o.media > 0 ? Math.round((o.cacheHits / o.media) * 1000) / 1000 : null,
        commitLatencyMs:
          sorted.length > 0
            ? {
                p50: Math.round(quantile(sorted, 0.5)),
                p99: Math.round(quantile(sorted, 0.99)),
                count: sorted.length,
              }
            : null,
      },
      alerts: { active: [...(active?.alerts.active ?? [])] },
      history: (active?.history ?? []).filter((p) => now - p.at <= HISTORY_MS),
    };
  }
}
