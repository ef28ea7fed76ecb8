/**
 * Health the relay reports per session (`POST .../sessions/{id}/health`), and the Prometheus names it exposes.
 * All rates per second over the last report interval; times in milliseconds unless named otherwise.
 */

export interface TrackHealth {
  codec: string;
  /** e.g. `High`, `Main` for H.264; `LC` for AAC. */
  profile?: string;
  bitrate: number;
  /** Video only. */
  frameRate?: number;
  width?: number;
  height?: number;
  /** Seconds between the last two keyframes. Video only. */
  keyframeInterval?: number;
  bFrames?: boolean;
}

export interface SrtConnectionStats {
  rttMs: number;
  packetsReceived: number;
  packetsLost: number;
  packetsRetransmitted: number;
  packetsDropped: number;
  packetsUndecryptable: number;
  bitrate: number;
  latencyMs: number;
}

export interface SessionHealthReport {
  /** Epoch ms when the report was made. */
  at: number;
  protocol: 'rtmp' | 'rtmps' | 'srt';
  remoteAddress: string;
  /** Bits per second arriving from the encoder (all tracks, container overhead included). */
  ingestBitrate: number;
  video?: TrackHealth;
  audio?: TrackHealth;
  /** Audio minus video DTS at the ingest edge, milliseconds. */
  avDriftMs?: number;
  /** Relay part-complete to Worker-acknowledged, milliseconds, p50 and p99 over the interval. */
  uploadLatencyMs?: { p50: number; p99: number };
  uploadRetries: number;
  partsGivenUp: number;
  srt?: SrtConnectionStats;
}
