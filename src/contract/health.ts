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
  /** The ABR ladder of this session (issue 12); absent from relays that predate it. */
  ladder?: LadderHealth;
  /**
   * An MPEG-TS input with several audio PIDs: the first one in the PMT is used, these are ignored (`AccessUnit`
   * carries one audio track).
   */
  ignoredAudioPids?: number[];
}

/**
 * Why a session has the renditions it has:
 *   `active`       the ladder's ffmpeg runs (each rung's own state below);
 *   `passthrough`  the config asks for the source only, or no rung is below the source's height;
 *   `no-capacity`  the relay had no CPU left for another ladder when the input started: source only;
 *   `unavailable`  ffmpeg is missing or cannot start: source only.
 */
export type LadderState = 'active' | 'passthrough' | 'no-capacity' | 'unavailable';

export interface LadderHealth {
  state: LadderState;
  /** Human text for any state but `active`. */
  reason?: string;
  rungs: RungHealth[];
}

/**
 * One rung:
 *   `ok`       its parts trail the source's by less than one part target (p99 over the interval);
 *   `lagging`  they trail by more, but arrive (RUNG_LAG_THRESHOLDS in the relay);
 *   `failed`   no parts: ffmpeg died or fell too far behind, and the rung is published as EXT-X-GAP until
 *              ffmpeg, restarted with backoff, rejoins at a keyframe;
 *   `starting` ffmpeg started and the rung has not joined yet.
 */
export type RungState = 'ok' | 'lagging' | 'failed' | 'starting';

export interface RungHealth {
  /** Rendition id. */
  id: string;
  state: RungState;
  width: number;
  height: number;
  /** Target video bitrate, bits per second. */
  videoBitrate: number;
  /** How far the rung's parts trail the source's (ready at the relay), milliseconds, over the interval. */
  lagMs?: { p50: number; p99: number };
  /** Parts published as gaps since the session began. */
  gapParts: number;
  /** ffmpeg restarts since the session began. */
  restarts: number;
  /** Why the rung is failed or lagging, e.g. `ffmpeg exited with code 1`. */
  reason?: string;
}
