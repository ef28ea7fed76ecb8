/**
 * A stream's health as JSON: what `GET /v1/streams/{id}/health` returns. Built by a pure function from the
 * state and the latest relay reports (src/contract/health.ts).
 */

import type { LadderHealth, SessionHealthReport } from '../contract/health.ts';
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import type { MonitoringHealth } from '../monitoring/stream-monitor.ts';
import {
  activeSession,
  isGap,
  isHealthy,
  own,
  type StreamState,
  type StreamStatus,
  type SwitchRecord,
} from './model.ts';
import { lastPosition, measureBandwidth } from './timeline.ts';

export interface RenditionHealth {
  id: string;
  codecs: string[];
  width?: number;
  height?: number;
  frameRate?: number;
  lastMsn: number | null;
  lastPart: number | null;
  /** Parts recorded in the retained segments. */
  parts: number;
  segments: number;
  /** Bits per second measured from uploaded bytes over recent segments (gaps left out); null before any media. */
  bitrate: { peak: number; average: number } | null;
  /** Parts in the retained segments published as gaps (a rung's failed transcoder, or padding at a switch). */
  gapParts: number;
  /** Nominal peak bits per second the relay declared for this rung (absent for the source). */
  nominalBandwidth?: number;
}

export interface StreamHealth {
  streamId: string | null;
  status: StreamStatus;
  /** The current event (first publish to ENDLIST) and when it began (epoch ms); null before the first. */
  event: { id: string; startedAt: number | null } | null;
  /** Seconds. */
  targetDuration: number;
  lastPublishAt: number | null;
  /** Epoch ms when the stream ends unless the encoder reconnects; null when not waiting. */
  reconnectDeadline: number | null;
  session: {
    id: string;
    protocol: IngestProtocol;
    remoteAddress: string;
    role: IngestRole;
    relayId: string;
    startedAt: number;
    endedAt: number | null;
    endReason: string | null;
  } | null;
  renditions: RenditionHealth[];
  /** Every live input (primary and backup) and the recently ended ones. */
  inputs: InputHealth[];
  /** The last input switches, oldest first. */
  switches: SwitchRecord[];
  /** The latest relay report of the active input, and when it arrived (epoch ms); null before its first. */
  relay: { report: SessionHealthReport; receivedAt: number } | null;
  /**
   * The active input's ABR ladder as its relay last reported it (issue 12): `state` and `reason` say why the
   * stream has the renditions it has, each rung its own state, lag, gap parts, restarts and reason. Null before
   * a report, or from a relay that predates ladders.
   */
  ladder: LadderHealth | null;
  /** MPEG-TS audio PIDs the active input's relay ignores (it uses the first one in the PMT); [] when none. */
  ignoredAudioPids: number[];
  /** Viewer QoE, origin counters, active alerts and recent history (src/monitoring/stream-monitor.ts). */
  monitoring?: MonitoringHealth;
}

/**
 * `active`: its media is published; `standby`: healthy, kept ready for failover; `stale`: open but no part for
 * `failoverTimeout`; `ended`: disconnected or taken over.
 */
export type InputState = 'active' | 'standby' | 'stale' | 'ended';

export interface InputHealth {
  role: IngestRole;
  sessionId: string;
  state: InputState;
  protocol: IngestProtocol;
  remoteAddress: string;
  relayId: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms of its last part; null before the first. */
  lastPartAt: number | null;
  /** Epoch ms since which it delivered without a gap; null when it is not delivering. */
  healthySince: number | null;
  endedAt: number | null;
  endReason: string | null;
  /** This input's latest relay report (each input has its own). */
  relay: { report: SessionHealthReport; receivedAt: number } | null;
  /** This input's active alert codes (src/monitoring/alerts.ts). */
  alerts: string[];
}

export interface RelayReport {
  sessionId: string;
  report: SessionHealthReport;
  receivedAt: number;
}

/** The latest report of each input (one per session id), oldest input first. */
export function withReport(reports: readonly RelayReport[], next: RelayReport, keep: number): RelayReport[] {
  return [...reports.filter((r) => r.sessionId !== next.sessionId), next].slice(-keep);
}

export function buildHealth(
  state: StreamState,
  reports: readonly RelayReport[],
  alertsOf: (sessionId: string) => string[],
  now: number,
): StreamHealth {
  const session = activeSession(state);
  const reportOf = (sessionId: string) => {
    const r = reports.find((x) => x.sessionId === sessionId);
    return r ? { report: r.report, receivedAt: r.receivedAt } : null;
  };
  const activeReport = session ? reportOf(session.id) : null;
  return {
    streamId: state.streamId,
    status: state.status,
    event: state.eventId === null ? null : { id: state.eventId, startedAt: state.eventStartedAt },
    targetDuration: state.targetDuration,
    lastPublishAt: state.lastPublishAt,
    reconnectDeadline: state.reconnectDeadline,
    session: session
      ? {
          id: session.id,
          protocol: session.protocol,
          remoteAddress: session.remoteAddress,
          role: session.role,
          relayId: session.relayId,
          startedAt: session.startedAt,
          endedAt: session.endedAt,
          endReason: session.endReason,
        }
      : null,
    renditions: Object.values(state.renditions)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => {
        const init = session ? own(r.inits, session.id) : undefined;
        const last = lastPosition(r);
        const health: RenditionHealth = {
          id: r.id,
          codecs: init?.codecs ?? [],
          lastMsn: last?.msn ?? null,
          lastPart: last?.part ?? null,
          parts: r.segments.reduce((n, s) => n + s.parts.length, 0),
          segments: r.segments.length,
          bitrate: measureBandwidth(r),
          gapParts: r.segments.reduce((n, s) => n + s.parts.filter(isGap).length, 0),
        };
        if (init?.bandwidth !== undefined) health.nominalBandwidth = init.bandwidth;
        if (init?.width !== undefined) health.width = init.width;
        if (init?.height !== undefined) health.height = init.height;
        if (init?.frameRate !== undefined) health.frameRate = init.frameRate;
        return health;
      }),
    inputs: state.sessions.map((s) => ({
      role: s.role,
      sessionId: s.id,
      state:
        s.endedAt !== null
          ? 'ended'
          : !isHealthy(state, s, now)
            ? 'stale'
            : s.id === state.activeSessionId
              ? 'active'
              : 'standby',
      protocol: s.protocol,
      remoteAddress: s.remoteAddress,
      relayId: s.relayId,
      startedAt: s.startedAt,
      lastPartAt: s.lastPartAt,
      healthySince: s.endedAt === null && isHealthy(state, s, now) ? s.healthySince : null,
      endedAt: s.endedAt,
      endReason: s.endReason,
      relay: reportOf(s.id),
      alerts: alertsOf(s.id),
    })),
    switches: state.switches,
    relay: activeReport,
    ladder: activeReport?.report.ladder ?? null,
    ignoredAudioPids: activeReport?.report.ignoredAudioPids ?? [],
  };
}
