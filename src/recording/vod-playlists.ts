/**
 * A recording's VOD playlists as data (src/hls/model.ts), for the same renderers as the live ones: one media
 * playlist per rendition with every segment, its DISCONTINUITY and PROGRAM-DATE-TIME as the live playlist had
 * them, no parts, `EXT-X-PLAYLIST-TYPE:VOD` and `EXT-X-ENDLIST` (RFC 8216bis 4.4.3.5, 6.2.1); and the
 * multivariant the event ended with, its variants pointing at those playlists. Pure.
 */
import { relativeMediaUri } from '../contract/playback.ts';
import type { MediaPlaylist, MultivariantPlaylist, SegmentEntry } from '../hls/model.ts';
import type { RecordedSegment } from './index-store.ts';

/** A recording's media playlist file (`/vod/{recordingId}/{rendition}/index.m3u8`). */
export const VOD_PLAYLIST_FILE = 'index.m3u8';

export function vodMediaPlaylist(segments: readonly RecordedSegment[]): MediaPlaylist {
  const entries: SegmentEntry[] = segments.map((s) => ({
    msn: s.msn,
    uri: relativeMediaUri.segment(s.sessionId, s.localMsn, s.firstPart),
    duration: s.duration,
    parts: [],
    discontinuity: s.discontinuity,
    programDateTime: s.programDateTime,
    mapUri: relativeMediaUri.init(s.sessionId),
    ...(s.partSizes.every((n) => n === 0) ? { gap: true } : {}),
  }));
  // 4.4.3.1: every EXTINF, rounded to the nearest integer, at most the target duration.
  const targetDuration = Math.max(1, ...segments.map((s) => Math.round(s.duration)));
  return {
    version: 6,
    targetDuration,
    partTarget: 0,
    mediaSequence: segments[0]?.msn ?? 0,
    discontinuitySequence: 0,
    serverControl: { canBlockReload: false, holdBack: 0, partHoldBack: 0 },
    segments: entries,
    openSegment: null,
    preloadHint: null,
    renditionReports: [],
    skippedSegments: 0,
    skipV2: false,
    ended: true,
    playlistType: 'VOD',
  };
}

/** The live multivariant as the event ended, with each variant pointing at its VOD playlist. */
export function vodMultivariant(ended: MultivariantPlaylist): MultivariantPlaylist {
  return {
    ...ended,
    variants: ended.variants.map((v) => ({ ...v, uri: `${v.uri.split('/')[0]}/${VOD_PLAYLIST_FILE}` })),
  };
}
