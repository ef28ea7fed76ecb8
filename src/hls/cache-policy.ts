/**
 * Cache-Control values for what the origin serves, from RFC 8216bis Appendix B.1 (draft 22), "Blocking Playlist
 * Reload allows longer caching of Playlists without detriment to Clients":
 *
 *   blocking playlist request:      success 6 target durations, unsuccessful (such as 404) 4
 *   non-blocking playlist request:  success 1/2 target duration, unsuccessful 1
 *   blocking media (preload hint):  success 6 target durations, unsuccessful 1
 *
 * and "Origin servers should use Cache-Control headers to communicate the desired cache lifetime." Media URLs
 * carry the publishing session id, so their bytes never change and they are immutable. `max-age` is whole
 * seconds, rounded down so a lifetime never exceeds what the profile asks for.
 */

/** Media (init segments, parts, whole segments): the URL names bytes that never change. */
export const MEDIA_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Seconds an ended event's playlist keeps: it never changes; retention (not the cache) decides when it goes. */
export const ENDED_PLAYLIST_MAX_AGE = 86_400;

/** Which kind of request an unsuccessful answer is for. */
export type CachedRequest = 'blocking-playlist' | 'playlist' | 'media';

export interface PlaylistCacheInput {
  /** The request carried `_HLS_msn` (a Blocking Playlist Reload, 6.2.5.2). */
  blocking: boolean;
  /** Seconds (EXT-X-TARGETDURATION). */
  targetDuration: number;
  /** The playlist carries EXT-X-ENDLIST under its event-scoped URL (it can never change again). */
  ended: boolean;
}

/**
 * A successful media playlist response. Blocking answers name a fixed point of the stream and keep for six
 * target durations; plain reloads for half of one, so a cached copy is never more than half a segment stale.
 * An ended event's playlist never changes again (RFC 8216bis 6.2.1; a publish after ENDLIST starts a new event
 * under new URLs, src/contract/playback.ts), so it keeps for a day. `ended` is for event-scoped URLs only: the
 * current-event alias moves to the next event and is cached like a reload.
 */
export function playlistCacheControl(input: PlaylistCacheInput): string {
  if (input.ended) return maxAge(ENDED_PLAYLIST_MAX_AGE);
  if (input.blocking) return maxAge(6 * input.targetDuration);
  return maxAge(input.targetDuration / 2);
}

/**
 * A 404: 4 target durations for a blocking playlist request, 1 for a plain playlist or a media request
 * (Appendix B.1).
 */
export function notFoundCacheControl(targetDuration: number, request: CachedRequest = 'playlist'): string {
  return maxAge(request === 'blocking-playlist' ? 4 * targetDuration : targetDuration);
}

/**
 * A 400 for a request too far ahead (6.2.5.2) or a 503 after blocking three target durations: not cached. The
 * same URL becomes a fine request a few parts later, and a cached refusal would then turn away every client
 * that asks for it on time.
 */
export const REFUSAL_CACHE_CONTROL = 'no-store';

/**
 * A 404 for a part or segment listed as a gap (GAP=YES, EXT-X-GAP, 4.4.4.7: clients SHOULD NOT load it): not
 * cached. The origin answers it from the object's memory without touching R2, a client that follows the
 * playlist never asks, and a 404 kept under a media URL, whose other answers are immutable, is an answer no
 * cache should be trusted to expire.
 */
export const GAP_CACHE_CONTROL = 'no-store';

/** The multivariant playlist changes only when renditions change: half a target duration, like a reload. */
export function multivariantCacheControl(targetDuration: number): string {
  return maxAge(targetDuration / 2);
}

function maxAge(seconds: number): string {
  const whole = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  return `public, max-age=${whole}`;
}
