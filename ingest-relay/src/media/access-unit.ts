/**
 * The one sample type between demux and mux. Every demuxer (FLV from RTMP, MPEG-TS from SRT) produces these;
 * the CMAF segmenter consumes them. Times are integer ticks of the track's `timescale`.
 *
 * A track config carries the codec facts read once, where the demuxer parses the parameter sets (SPS, ASC;
 * `track-config.ts` builds them): the segmenter and health read them here and never parse those again.
 */

export type TrackKind = 'video' | 'audio';

export interface VideoTrackConfig {
  kind: 'video';
  codec: 'h264';
  /** Ticks per second of dts/pts on this track (90 kHz for MPEG-TS, 1 kHz for RTMP/FLV). */
  timescale: number;
  /** AVCDecoderConfigurationRecord (the avcC box payload). */
  avcC: Uint8Array;
  width: number;
  height: number;
  /** RFC 6381 codec string, e.g. `avc1.64001f`. */
  codecString: string;
  /** ISO 14496-10 Annex A profile name from the SPS, e.g. `High`, `Constrained Baseline`. */
  profile: string;
  /** Frames per second from the SPS VUI timing, when present. */
  frameRate?: number;
  /** Sample aspect ratio from the SPS VUI, when present (the init segment's pasp). */
  sar?: { width: number; height: number };
  /**
   * The video carries CEA-608/708 captions (A/53 cc_data in SEI). Not a parameter-set fact: the start gate sets
   * it on the config the init segment is made from, from the units it held (`AccessUnit.captions`); absent on
   * the demuxers' configs.
   */
  closedCaptions?: boolean;
}

export interface AudioTrackConfig {
  kind: 'audio';
  codec: 'aac';
  timescale: number;
  /** AudioSpecificConfig (ISO 14496-3), the esds DecoderSpecificInfo. */
  audioSpecificConfig: Uint8Array;
  sampleRate: number;
  channelCount: number;
  /** RFC 6381 codec string, e.g. `mp4a.40.2`. */
  codecString: string;
  /** Audio Object Type (ISO 14496-3 1.5.1.1): 2 = AAC LC, 5 = SBR (HE-AAC), 29 = PS (HE-AACv2). */
  objectType: number;
  /** Profile name for the object type, e.g. `LC`, `HE-AAC`. */
  profile: string;
}

export type TrackConfig = VideoTrackConfig | AudioTrackConfig;

export interface AccessUnit {
  kind: TrackKind;
  /** Decode timestamp, ticks of the track timescale, unwrapped (monotonic, never reset by 32/33-bit wrap). */
  dts: number;
  /** Presentation timestamp, same units; pts >= dts. */
  pts: number;
  /** Video: an IDR access unit. Audio: always true. */
  keyframe: boolean;
  /**
   * Sample payload as it goes into mdat: H.264 as length-prefixed NAL units (4-byte lengths, AVCC form,
   * parameter sets and AUDs removed); AAC as raw frames (no ADTS header).
   */
  data: Uint8Array;
  /** Wall clock (epoch ms) when the relay received the bytes of this unit. Used for EXT-X-PROGRAM-DATE-TIME. */
  receivedAt: number;
  /** Video: an SEI of this unit carries CEA-608/708 captions (ATSC A/53 cc_data); absent: none. */
  captions?: true;
}

/**
 * What a demuxer emits: track configs (again when they change) and access units, in arrival order; an input
 * track it leaves out (MPEG-TS: a second audio PID), once, for the session's health; errors.
 */
export type DemuxEvent =
  | { type: 'config'; track: TrackConfig }
  | { type: 'unit'; unit: AccessUnit }
  | { type: 'ignored-track'; kind: TrackKind; pid: number; streamType: number }
  | { type: 'error'; reason: string; fatal: boolean };
