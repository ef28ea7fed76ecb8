/**
 * Everything the stream's Durable Object knows about monitoring, in one value it holds in memory: viewer QoE
 * (qoe.ts), origin request counts (origin.ts), the object's own part commit latency, the alert state
 * (alerts.ts) and a short history of relay reports for the dashboard's charts. All of it describes the last
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
  type QoeBatch,
  type QoeSummary,
  type QoeWindow,
  quantile,
  recordQoe,
  summarizeQoe,
} from './qoe.ts';

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
}

export class StreamMonitor {
  #qoe: QoeWindow = emptyQoe();
  #origin: OriginCounts = emptyOriginCounts();
  #commitLatencies: number[] = [];
  #alerts: AlertState = emptyAlertState();
  #history: HealthPoint[] = [];
  #lastSrt: { received: number; lost: number } | null = null;

  /** A new publishing session: alerts and ingest history start again (viewer figures carry on). */
  sessionStarted(): void {
    this.#alerts = emptyAlertState();
    this.#lastSrt = null;
  }

  recordQoe(batch: QoeBatch, now: number): void {
    this.#qoe = recordQoe(this.#qoe, batch, now);
  }

  recordOrigin(counts: OriginCounts): void {
    this.#origin = addOriginCounts(this.#origin, counts);
  }

  partCommitted(latencyMs: number): void {
    if (!Number.isFinite(latencyMs)) return;
    this.#commitLatencies.push(Math.max(0, latencyMs));
    if (this.#commitLatencies.length > MAX_LATENCIES) this.#commitLatencies.shift();
  }

  relayReport(report: SessionHealthReport, limits: AlertLimits, now: number): AlertOutcome {
    const outcome = evaluateAlerts(this.#alerts, report, limits, now);
    this.#alerts = outcome.state;
    let lossPct: number | null = null;
    if (report.srt) {
      const prev = this.#lastSrt;
      const cur = { received: report.srt.packetsReceived, lost: report.srt.packetsLost };
      if (prev && cur.received >= prev.received && cur.lost >= prev.lost) {
        const lost = cur.lost - prev.lost;
        const total = lost + cur.received - prev.received;
        lossPct = total > 0 ? Math.round((lost / total) * 10_000) / 100 : 0;
      }
      this.#lastSrt = cur;
    }
    this.#history = this.#history.filter((p) => now - p.at <= HISTORY_MS);
    this.#history.push({
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

  summary(now: number): MonitoringHealth {
    const sorted = [...this.#commitLatencies].sort((a, b) => a - b);
    const o = this.#origin;
    return {
      qoe: summarizeQoe(this.#qoe, now),
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
      alerts: { active: [...this.#alerts.active] },
      history: this.#history.filter((p) => now - p.at <= HISTORY_MS),
    };
  }
}
