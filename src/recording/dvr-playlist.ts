/**
 * A DVR media playlist as data (src/hls/model.ts): the live playlist with the event's earlier segments, from the
 * recording index, in front of it, back to `dvrWindow` seconds. It is the same sliding window the live playlist
 * is (no EXT-X-PLAYLIST-TYPE: RFC 8216bis 6.2.1 forbids changing the type mid-event), so it keeps the live
 * playlist's server control, parts near the live edge, preload hint and ENDLIST, and supports blocking reload
 * and delta updates over the whole list. Pure.
 *
 * - MEDIA-SEQUENCE is the first listed segment's msn; segments leave the front as the window slides.
 * - DISCONTINUITY-SEQUENCE counts the discontinuities before that segment (4.4.3.3): the live playlist's, less
 *   those of the segments put back in front of it.
 * - A delta update (6.2.5.1) skips the segments further than CAN-SKIP-UNTIL from the end of the whole list, so a
 *   reload costs what a live one does however long the window.
 * - Rendition reports name the other renditions' DVR playlists.
 */
import { dvrPlaylistFile } from '../contract/playback.ts';
import { skipBoundary } from '../hls/directives.ts';
import type { SkipRequest } from '../hls/from-state.ts';
import type { MediaPlaylist, MultivariantPlaylist } from '../hls/model.ts';
import type { RecordedSegment } from './index-store.ts';
import { recordedEntry } from './vod-playlists.ts';

/**
 * `live`: the full live playlist (no skip). `earlier`: recorded segments of the same rendition and event before
 * its first one, oldest first (only the run that ends right before it is used). `window`: seconds.
 */
export function buildDvrPlaylist(
  live: MediaPlaylist,
  earlier: readonly RecordedSegment[],
  window: number,
  skip: SkipRequest,
): MediaPlaylist {
  const front = windowFront(live, earlier, window);
  const segments = [...front.map(recordedEntry), ...live.segments];
  const canSkipUntil = live.serverControl.canSkipUntil;
  const skippedSegments =
    skip !== null && !live.ended && canSkipUntil !== undefined
      ? skipBoundary(
          segments.map((s) => s.duration),
          canSkipUntil,
        )
      : 0;
  return {
    ...live,
    mediaSequence: segments[0]?.msn ?? live.mediaSequence,
    discontinuitySequence: live.discontinuitySequence - front.filter((s) => s.discontinuity).length,
    segments: segments.slice(skippedSegments),
    skippedSegments,
    skipV2: skip === 'v2' && skippedSegments > 0,
    renditionReports: live.renditionReports.map((r) => ({
      ...r,
      uri: toDvrFile(r.uri),
    })),
  };
}

/**
 * The recorded segments to put in front: the newest of `earlier` that end right before the live playlist's
 * first segment, in an unbroken run of msns, as many as fit in `window` with the live playlist's own.
 */
export function windowFront(
  live: MediaPlaylist,
  earlier: readonly RecordedSegment[],
  window: number,
): RecordedSegment[] {
  let total = live.segments.reduce((sum, s) => sum + s.duration, 0);
  let next = (live.segments[0]?.msn ?? live.mediaSequence) - 1;
  const front: RecordedSegment[] = [];
  for (let i = earlier.length - 1; i >= 0; i--) {
    const s = earlier[i] as RecordedSegment;
    if (s.msn > next) continue;
    if (s.msn < next || total + s.duration > window + 1e-6) break;
    front.push(s);
    total += s.duration;
    next--;
  }
  return front.reverse();
}

/** The live multivariant with each variant naming its DVR playlist (`{rendition}/{eventId}.dvr.m3u8`). */
export function dvrMultivariant(live: MultivariantPlaylist): MultivariantPlaylist {
  return { ...live, variants: live.variants.map((v) => ({ ...v, uri: toDvrFile(v.uri) })) };
}

/** `…/{eventId}.m3u8` → `…/{eventId}.dvr.m3u8`. */
function toDvrFile(uri: string): string {
  return uri.replace(/([^/]+)\.m3u8$/, (_, eventId: string) => dvrPlaylistFile(eventId));
}
