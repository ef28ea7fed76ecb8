/**
 * Per-stream ingest gauges on the relay's `/metrics`, set from each health report the session sends to the
 * Worker (src/contract/health.ts), so Prometheus and the API's health show the same figures. Labels: stream id
 * and protocol (never the key). A session's series are removed when it ends, so a relay that served many
 * streams does not export stale ones.
 */
import type { SessionHealthReport } from '../../src/contract/health.ts';
import { gauge } from './metrics.ts';

const LABELS = ['stream_id', 'protocol'] as const;

const ingestBitrate = gauge('relay_ingest_bitrate_bps', 'Bits per second arriving from the encoder', LABELS);
const videoBitrate = gauge(
  'relay_ingest_video_bitrate_bps',
  'Video elementary stream bits per second',
  LABELS,
);
const audioBitrate = gauge(
  'relay_ingest_audio_bitrate_bps',
  'Audio elementary stream bits per second',
  LABELS,
);
const frameRate = gauge('relay_ingest_frame_rate', 'Video frames per second', LABELS);
const keyframeInterval = gauge(
  'relay_ingest_keyframe_interval_seconds',
  'Seconds between the last two keyframes',
  LABELS,
);
const avDrift = gauge('relay_ingest_av_drift_seconds', 'Audio minus video DTS at the ingest edge', LABELS);
const uploadLatency = gauge(
  'relay_upload_latency_quantile_seconds',
  'Part complete to Worker acknowledged over the last report, by quantile',
  [...LABELS, 'quantile'],
);

type Labels = { stream_id: string; protocol: string };

export function observeHealth(streamId: string, report: SessionHealthReport): void {
  const labels: Labels = { stream_id: streamId, protocol: report.protocol };
  ingestBitrate.set(labels, report.ingestBitrate);
  if (report.video) {
    videoBitrate.set(labels, report.video.bitrate);
    if (report.video.frameRate !== undefined) frameRate.set(labels, report.video.frameRate);
    if (report.video.keyframeInterval !== undefined)
      keyframeInterval.set(labels, report.video.keyframeInterval);
  }
  if (report.audio) audioBitrate.set(labels, report.audio.bitrate);
  if (report.avDriftMs !== undefined) avDrift.set(labels, report.avDriftMs / 1000);
  if (report.uploadLatencyMs) {
    uploadLatency.set({ ...labels, quantile: '0.5' }, report.uploadLatencyMs.p50 / 1000);
    uploadLatency.set({ ...labels, quantile: '0.99' }, report.uploadLatencyMs.p99 / 1000);
  }
}

export function forgetStream(streamId: string, protocol: string): void {
  const labels: Labels = { stream_id: streamId, protocol };
  for (const g of [ingestBitrate, videoBitrate, audioBitrate, frameRate, keyframeInterval, avDrift])
    g.remove(labels);
  for (const quantile of ['0.5', '0.99']) uploadLatency.remove({ ...labels, quantile });
}
