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

/** A recorded segment as a playlist entry, as the live playlist listed it (EXT-X-GAP when it has no media). */
export function recordedEntry(s: RecordedSegment): SegmentEntry {
  return {
    msn: s.msn,
    uri: relativeMediaUri.segment(s.sessionId, s.localMsn, s.firstPart),
    duration: s.duration,
    parts: [],
    discontinuity: s.discontinuity,
    programDateTime: s.programDateTime,
    mapUri: relativeMediaUri.init(s.sessionId),
    ...(s.partSizes.every((n) => n === 0) ? { gap: true } : {}),
  };
}

export function vodMediaPlaylist(segments: readonly RecordedSegment[]): MediaPlaylist {
  const entries = segments.map(recordedEntry);
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

/** A clip's media playlist file, beside the recording's in each rendition's folder. */
export function clipPlaylistFile(clipId: string): string {
  return `clip-${clipId}.m3u8`;
}

/**
 * The live multivariant as the event ended, with each variant pointing at its VOD playlist (`file`: the
 * recording's, or a clip's).
 */
export function vodMultivariant(ended: MultivariantPlaylist, file = VOD_PLAYLIST_FILE): MultivariantPlaylist {
  return { ...ended, variants: ended.variants.map((v) => ({ ...v, uri: `${v.uri.split('/')[0]}/${file}` })) };
}

export type SnappedClip =
  | { ok: true; start: number; end: number; firstMsn: number; endMsn: number }
  | { ok: false; detail: string };

/**
 * A clip's span snapped outward to segment boundaries: from the start of the segment holding `start` to the
 * end of the one holding `end` (seconds from the recording's start, the source's segments).
 */
export function snapClip(segments: readonly RecordedSegment[], start: number, end: number): SnappedClip {
  const spans: { msn: number; from: number; to: number }[] = [];
  let at = 0;
  for (const s of segments) {
    spans.push({ msn: s.msn, from: at, to: at + s.duration });
    at += s.duration;
  }
  if (!(end > start)) return { ok: false, detail: `end (${end}) must be greater than start (${start})` };
  if (start < 0 || end > at + 1e-6) {
    return { ok: false, detail: `${start}-${end} s is outside the recording (0-${round3(at)} s)` };
  }
  const first = spans.findLast((s) => s.from <= start + 1e-6);
  const last = spans.find((s) => s.to >= end - 1e-6);
  if (!first || !last) return { ok: false, detail: 'the recording has no segment in that span' };
  return {
    ok: true,
    start: round3(first.from),
    end: round3(last.to),
    firstMsn: first.msn,
    endMsn: last.msn + 1,
  };
}

/** Seconds to the millisecond, as the API states recording and clip times. */
export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
