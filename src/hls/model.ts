/**
 * LL-HLS playlists as plain data (RFC 8216bis). Renderers in this folder turn these values into text with
 * no clock, env or I/O; `from-state.ts` builds them from a stream's state. All durations in seconds.
 */

export interface PartEntry {
  /** URI relative to the media playlist. */
  uri: string;
  duration: number;
  /** Starts with a keyframe: `INDEPENDENT=YES`. */
  independent: boolean;
  /** Not available (4.4.4.9 `GAP=YES`): no media, or a part of a segment that is a gap. Absent: false. */
  gap?: boolean;
}

export interface SegmentEntry {
  msn: number;
  /** URI of the whole segment, relative to the media playlist. */
  uri: string;
  duration: number;
  /** Parts of this segment; listed only for segments near the live edge (empty otherwise). */
  parts: PartEntry[];
  /** `EXT-X-DISCONTINUITY` before this segment. */
  discontinuity: boolean;
  /** `EXT-X-PROGRAM-DATE-TIME` of the segment's first sample, epoch milliseconds; rendered on every segment. */
  programDateTime: number;
  /** `EXT-X-MAP:URI` to emit before this segment when it differs from the previous segment's (session change). */
  mapUri: string;
  /**
   * `EXT-X-GAP` (4.4.4.7): the segment URI holds no (complete) media and must not be loaded; every one of its
   * parts is then `GAP=YES` too (4.4.4.9: REQUIRED for a part whose parent segment is a gap). Absent: false.
   */
  gap?: boolean;
}

export interface PreloadHint {
  /** `TYPE=PART`: the URI of the next part, not yet complete. */
  uri: string;
}

export interface RenditionReport {
  /** URI of the other rendition's media playlist, relative to this one. */
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface ServerControl {
  canBlockReload: boolean;
  /** Seconds; absent means no delta updates offered. */
  canSkipUntil?: number;
  /**
   * `CAN-SKIP-DATERANGES=YES` (RFC 8216bis 4.4.3.8): delta updates may also skip date ranges, so clients may ask
   * `_HLS_skip=v2`. Needs `canSkipUntil`. We carry no date ranges, so offering it costs nothing.
   */
  canSkipDateRanges?: boolean;
  /** Seconds. */
  holdBack: number;
  /** Seconds. */
  partHoldBack: number;
}

export interface MediaPlaylist {
  version: number;
  targetDuration: number;
  partTarget: number;
  mediaSequence: number;
  discontinuitySequence: number;
  serverControl: ServerControl;
  /** Complete segments, oldest first (after any skipped ones). */
  segments: SegmentEntry[];
  /**
   * The segment still receiving parts: its parts so far are rendered as trailing EXT-X-PART lines after the
   * last complete segment (preceded by its discontinuity, map and date tags). Null when no part is open.
   */
  openSegment: {
    msn: number;
    parts: PartEntry[];
    programDateTime: number;
    discontinuity: boolean;
    mapUri: string;
  } | null;
  preloadHint: PreloadHint | null;
  renditionReports: RenditionReport[];
  /** Number of leading segments replaced by `EXT-X-SKIP` in a delta update (0: a full playlist). */
  skippedSegments: number;
  /** The skipped span also dropped discontinuity/date tags (`_HLS_skip=v2`): `RECENTLY-REMOVED-DATERANGES` applies. */
  skipV2: boolean;
  ended: boolean;
  /**
   * `EXT-X-PLAYLIST-TYPE:VOD` (4.4.3.5): a recording's playlist, complete and never changing. It carries no
   * server control and no parts (those are for live reloads). Absent: a live playlist (a sliding window; the
   * type is never set there, and never changed mid-event, 6.2.1).
   */
  playlistType?: 'VOD';
}

export interface VariantStream {
  uri: string;
  /** Peak bits per second. */
  bandwidth: number;
  averageBandwidth: number;
  /** RFC 6381 codecs, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
  /**
   * `CLOSED-CAPTIONS` (4.4.6.2): the GROUP-ID of a CLOSED-CAPTIONS rendition, or `NONE` (no captions; then
   * every variant of the playlist says NONE). Absent: the attribute is not written.
   */
  closedCaptions?: { groupId: string } | 'NONE';
}

/** An `EXT-X-MEDIA` rendition (4.4.6.1). Only in-stream closed captions are carried here. */
export interface MediaRendition {
  type: 'CLOSED-CAPTIONS';
  groupId: string;
  name: string;
  /** `CC1`..`CC4` (CEA-608) or `SERVICE1`..`SERVICE63` (CEA-708). */
  instreamId: string;
  default: boolean;
  autoselect: boolean;
}

export interface MultivariantPlaylist {
  version: number;
  independentSegments: boolean;
  /** EXT-X-MEDIA renditions, written before the variants. */
  media: MediaRendition[];
  variants: VariantStream[];
}
