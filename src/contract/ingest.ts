/**
 * The relay <-> Worker contract: internal routes, header names and body shapes. Vocabulary: README.md here.
 *
 * Shared by the Worker (`src/api/ingest.ts`) and the relay (`ingest-relay/src/upload/`), so both sides
 * import the same names. Everything under `/internal/v1` requires `Authorization: Bearer $INGEST_TOKEN`.
 *
 * Flow of one publishing session:
 *   1. POST /internal/v1/authorize            {streamKey, protocol}         -> AuthorizeResponse (no side effects;
 *                                                                              SRT uses it for the passphrase)
 *   2. POST /internal/v1/sessions             StartSessionRequest           -> 201 StartSessionResponse
 *   3. PUT  .../renditions/{r}/init           init segment bytes + InitHeaders
 *   4. PUT  .../renditions/{r}/parts/{msn}/{part}   part bytes + PartHeaders -> PartUploadResponse
 *   5. POST .../health                        SessionHealthReport (periodic)
 *   6. POST .../end                           EndSessionRequest
 *
 * Redundancy (issue 6): a stream has a primary and a backup stream key; one live session per role. A publish
 * with a role whose session is healthy is refused (409 already-live); one whose same-role session delivered
 * nothing for `failoverTimeout` takes it over, and the silent session's later uploads get 410. Parts of the
 * standby input are accepted and stored like any others; only the active input's parts reach the playlist.
 */

import type { StreamConfig } from './stream-config.ts';

export const INTERNAL_PREFIX = '/internal/v1';

export type IngestProtocol = 'rtmp' | 'rtmps' | 'srt';
export type IngestRole = 'primary' | 'backup';

/** Per-stream settings the relay needs to cut media: one typed schema, src/contract/stream-config.ts. */
export type { StreamConfig, StreamConfigInput } from './stream-config.ts';

export interface AuthorizeRequest {
  streamKey: string;
  protocol: IngestProtocol;
}

export interface AuthorizeResponse {
  streamId: string;
  config: StreamConfig;
  /** SRT passphrase (10-79 chars) when the stream requires encryption, otherwise null. */
  srtPassphrase: string | null;
  /**
   * The role this key publishes as: a stream's `streamKey` publishes as 'primary', its `backupStreamKey` as
   * 'backup'. Both may publish at once (to one relay or two); the origin publishes the active one only.
   */
  role: IngestRole;
}

export interface StartSessionRequest {
  streamKey: string;
  protocol: IngestProtocol;
  /** "ip:port" of the encoder, for health and logs. */
  remoteAddress: string;
  /** Stable id of the relay process, for health and logs. */
  relayId: string;
}

export interface StartSessionResponse {
  streamId: string;
  sessionId: string;
  /** The event this session publishes into (a publish after ENDLIST starts a new one). */
  eventId: string;
  /** The event's config: cut with this one, not the authorize answer's (a change applies at the next event). */
  config: StreamConfig;
  role: IngestRole;
  /**
   * Number of this session's first segment. Session-local: every session numbers its own segments from here
   * and uploads parts as `{msn}/{part}` in that numbering, which is also what its media URIs and R2 keys carry.
   * The Worker maps them onto the published EXT-X-MEDIA-SEQUENCE, which may differ (after a failover, a
   * standby's segment 7 may be published as 9); the relay never needs the published numbers.
   */
  firstMsn: number;
}

/** Rendition ids are short slugs; the relay's passthrough rendition is `source`. */
export const SOURCE_RENDITION = 'source';
export const RENDITION_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Headers on `PUT .../init`. */
export const InitHeaders = {
  /** RFC 6381 codecs string, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: 'ingest-codecs',
  /** Video size as `WIDTHxHEIGHT`, absent for audio-only. */
  resolution: 'ingest-resolution',
  /** Frames per second, decimal, absent for audio-only. */
  frameRate: 'ingest-frame-rate',
  /**
   * Peak bits per second to advertise (EXT-X-STREAM-INF BANDWIDTH) until the origin has measured the rendition:
   * a rung's nominal bitrate (ladder.ts `nominalBandwidth`). Absent for the source, which is measured only.
   */
  bandwidth: 'ingest-bandwidth',
  /**
   * `?1` when the video carries CEA-608/708 captions (ATSC A/53 SEI); the multivariant then declares a
   * CLOSED-CAPTIONS rendition, otherwise `CLOSED-CAPTIONS=NONE`. Absent: unknown, treated as none.
   */
  closedCaptions: 'ingest-closed-captions',
  /**
   * On the source's init: the ladder rungs this session will upload, comma-separated rendition ids (`480p,360p`);
   * absent: none. The multivariant waits for them (at most until the source's first segment is complete), so a
   * player that loads it at the start of an event sees the whole ladder, not the source alone.
   */
  renditions: 'ingest-renditions',
} as const;

/** Headers on `PUT .../parts/{msn}/{part}`. Booleans are structured-field booleans (`?1` / `?0`). */
export const PartHeaders = {
  /** Part duration in seconds, decimal (at most 6 fractional digits). */
  duration: 'ingest-duration',
  /** `?1` when the part starts with a keyframe (EXT-X-PART INDEPENDENT=YES). */
  independent: 'ingest-independent',
  /** Wall-clock time of the part's first sample at ingest, ISO 8601 with milliseconds. */
  programDateTime: 'ingest-program-date-time',
  /** `?1` on the last part of a segment: the segment closes with it. */
  segmentEnd: 'ingest-segment-end',
  /**
   * `?1`: this rendition has no media for this part (its transcoder failed or fell behind), and the body is
   * empty. The part keeps its number, duration and PDT, so MSNs stay contiguous and aligned with the other
   * renditions, and is advertised as `EXT-X-PART:...,GAP=YES`; a segment holding one is `EXT-X-GAP` (RFC
   * 8216bis 4.4.4.7, 4.4.4.9). Absent or `?0`: a normal part.
   */
  gap: 'ingest-gap',
} as const;

/**
 * How many parts past the next one it expects the stream object holds (`pending`) for a pipelined uploader;
 * one further is refused (409), which ends the session. An uploader keeps every part it starts within this
 * of the oldest one not yet acknowledged.
 */
export const PENDING_WINDOW = 8;
export const MAX_PART_BYTES = 8 * 1024 * 1024;
export const MAX_INIT_BYTES = 64 * 1024;

export interface PartMeta {
  rendition: string;
  /** Session-local number of the segment this part belongs to (see StartSessionResponse.firstMsn). */
  msn: number;
  /** Index of the part inside its segment, from 0. */
  part: number;
  /** Seconds. */
  duration: number;
  independent: boolean;
  /** Epoch milliseconds of the part's first sample at ingest. */
  programDateTime: number;
  segmentEnd: boolean;
  /** Bytes in the part (0 for a gap). */
  size: number;
  /** No media in this rendition for this part (PartHeaders.gap); absent means false. */
  gap?: boolean;
}

/**
 * `committed`: recorded and advertised; `pending`: stored, waiting for an earlier part (pipelined upload);
 * `duplicate`: the same part was already recorded (a harmless retry).
 */
export type PartUploadStatus = 'committed' | 'pending' | 'duplicate';

export interface PartUploadResponse {
  status: PartUploadStatus;
}

export interface EndSessionRequest {
  reason: string;
}

export function sessionPath(streamId: string, sessionId: string): string {
  return `${INTERNAL_PREFIX}/streams/${streamId}/sessions/${sessionId}`;
}

export function initPath(streamId: string, sessionId: string, rendition: string): string {
  return `${sessionPath(streamId, sessionId)}/renditions/${rendition}/init`;
}

export function partPath(
  streamId: string,
  sessionId: string,
  rendition: string,
  msn: number,
  part: number,
): string {
  return `${sessionPath(streamId, sessionId)}/renditions/${rendition}/parts/${msn}/${part}`;
}

export function sfBoolean(value: boolean): string {
  return value ? '?1' : '?0';
}

export function parseSfBoolean(value: string | null): boolean | undefined {
  if (value === '?1') return true;
  if (value === '?0') return false;
  return undefined;
}
