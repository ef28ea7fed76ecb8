/**
 * Accumulates what a session reports to the Worker every few seconds (src/contract/health.ts): per-track
 * bitrate, frame rate, keyframe interval, B-frames, A/V drift, and the uploader's latency and retries.
 * Pure: the caller passes `now` (epoch ms) to `report`.
 */
import type { SessionHealthReport, TrackHealth } from '../../../src/contract/health.ts';
import type { IngestProtocol } from '../../../src/contract/ingest.ts';
import type { AccessUnit, TrackConfig, TrackKind } from '../media/access-unit.ts';
import type { UploadStats } from './sink.ts';

interface TrackCounters {
  config: TrackConfig;
  bytes: number;
  frames: number;
  lastDtsSec?: number;
  keyframes: number[];
  bFrames: boolean;
}

export class HealthTracker {
  readonly #protocol: IngestProtocol;
  readonly #remoteAddress: string;
  readonly #tracks = new Map<'video' | 'audio', TrackCounters>();
  readonly #ignoredAudioPids = new Set<number>();
  #since: number;
  #lastRetries = 0;

  constructor(protocol: IngestProtocol, remoteAddress: string, now: number) {
    this.#protocol = protocol;
    this.#remoteAddress = remoteAddress;
    this.#since = now;
  }

  /** A track's config (again when it changes): its codec facts, as the demuxer read them, go in the reports. */
  config(track: TrackConfig): void {
    const previous = this.#tracks.get(track.kind);
    const counters = previous ?? { config: track, bytes: 0, frames: 0, keyframes: [], bFrames: false };
    this.#tracks.set(track.kind, { ...counters, config: track });
  }

  /** An input track the demuxer left out (MPEG-TS: an audio PID after the first); reported from now on. */
  ignoredTrack(kind: TrackKind, pid: number): void {
    if (kind === 'audio') this.#ignoredAudioPids.add(pid);
  }

  unit(unit: AccessUnit): void {
    const t = this.#tracks.get(unit.kind);
    if (!t) return;
    t.bytes += unit.data.byteLength;
    t.frames++;
    const dtsSec = unit.dts / t.config.timescale;
    t.lastDtsSec = dtsSec;
    if (unit.pts !== unit.dts) t.bFrames = true;
    if (unit.kind === 'video' && unit.keyframe) t.keyframes = [...t.keyframes.slice(-1), dtsSec];
  }

  /** The report for the interval since the last call; resets the interval counters. */
  report(now: number, upload: UploadStats): SessionHealthReport {
    const seconds = Math.max(0.001, (now - this.#since) / 1000);
    const video = this.#tracks.get('video');
    const audio = this.#tracks.get('audio');
    const latencies = upload.takeLatencies().sort((a, b) => a - b);
    let ingestBytes = 0;
    for (const t of this.#tracks.values()) ingestBytes += t.bytes;
    const report: SessionHealthReport = {
      at: now,
      protocol: this.#protocol,
      remoteAddress: this.#remoteAddress,
      ingestBitrate: Math.round((ingestBytes * 8) / seconds),
      uploadRetries: upload.retries - this.#lastRetries,
      partsGivenUp: upload.givenUp,
    };
    if (video) report.video = this.#trackHealth(video, seconds);
    if (audio) report.audio = this.#trackHealth(audio, seconds);
    if (video?.lastDtsSec !== undefined && audio?.lastDtsSec !== undefined) {
      report.avDriftMs = Math.round((audio.lastDtsSec - video.lastDtsSec) * 1000);
    }
    if (this.#ignoredAudioPids.size > 0) report.ignoredAudioPids = [...this.#ignoredAudioPids];
    if (latencies.length > 0) {
      report.uploadLatencyMs = { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
    }
    this.#lastRetries = upload.retries;
    this.#since = now;
    for (const t of this.#tracks.values()) {
      t.bytes = 0;
      t.frames = 0;
    }
    return report;
  }

  #trackHealth(t: TrackCounters, seconds: number): TrackHealth {
    const h: TrackHealth = {
      codec: t.config.codecString,
      bitrate: Math.round((t.bytes * 8) / seconds),
      profile: t.config.profile,
    };
    if (t.config.kind === 'video') {
      h.frameRate = Math.round((t.frames / seconds) * 100) / 100;
      h.width = t.config.width;
      h.height = t.config.height;
      h.bFrames = t.bFrames;
      const [a, b] = t.keyframes;
      if (a !== undefined && b !== undefined) h.keyframeInterval = Math.round((b - a) * 1000) / 1000;
    }
    return h;
  }
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[i]! * 10) / 10;
}
