/**
 * Viewer URL scheme. Media URLs carry the publishing session id, so every media URL names bytes that never
 * change and can be cached as immutable. Stream keys never appear here.
 *
 * Media playlists are scoped to an event (a first publish to EXT-X-ENDLIST): a publish after ENDLIST starts
 * a new event with new playlist URLs, so a playlist that carried ENDLIST never changes again (RFC 8216bis
 * 6.2.1) and an ended event's playlists stay servable and cacheable for long. The multivariant URL is the
 * stream's and always lists the current event's media playlists (its lifetime stays short). `index.m3u8` is
 * the current event's playlist under a URL that moves to the next event: for tools and quick looks, cached
 * briefly even when ended; players get the event-scoped URLs from the multivariant.
 *
 *   /live/{streamId}/master.m3u8                                   multivariant playlist (current event)
 *   /live/{streamId}/{rendition}/{eventId}.m3u8                    media playlist of one event (LL-HLS)
 *   /live/{streamId}/{rendition}/index.m3u8                        the current event's media playlist
 *   /live/{streamId}/{rendition}/{sessionId}/init.mp4              init segment (EXT-X-MAP)
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.{part}.m4s      part
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.m4s             whole segment (its parts, concatenated)
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.{part}-.m4s     segment published from part {part} on (a
 *                                                                  failover joined at that keyframe): parts
 *                                                                  {part}.. of local segment {msn}, concatenated
 *   /live/{streamId}/dvr.m3u8                                      DVR multivariant (config dvrWindow > 0)
 *   /live/{streamId}/{rendition}/{eventId}.dvr.m3u8                DVR media playlist of the current event: the
 *                                                                  live playlist with the window's earlier
 *                                                                  segments before it (same directory, so the
 *                                                                  same relative media URIs)
 *   /play/{streamId}                                               player page (`?token=` for a signed stream)
 *
 * A signed stream (config `playbackPolicy: "signed"`) is played with a playback token in place of the stream
 * id: `/live/{token}/master.m3u8` and so on (src/access/claims.ts). The relative URIs below then carry the
 * token with no playlist rewriting, and every player works unchanged. A token is a JWT (it has dots, which no
 * stream id has) and a credential: `redactViewerPath` takes it out of anything logged.
 */

export function multivariantPath(streamId: string): string {
  return `/live/${streamId}/master.m3u8`;
}

/** The current event's media playlist (a URL that moves to the next event; players use `eventPlaylistPath`). */
export function mediaPlaylistPath(streamId: string, rendition: string): string {
  return `/live/${streamId}/${rendition}/index.m3u8`;
}

/** One event's media playlist: once it carries EXT-X-ENDLIST it never changes. */
export function eventPlaylistPath(streamId: string, rendition: string, eventId: string): string {
  return `/live/${streamId}/${rendition}/${eventId}.m3u8`;
}

/** The DVR multivariant: the live one, its variants naming the DVR media playlists. */
export function dvrPath(streamId: string): string {
  return `/live/${streamId}/dvr.m3u8`;
}

/** The file name of a media playlist: `{eventId}.m3u8` for one event, `index.m3u8` for the current one. */
export const CURRENT_PLAYLIST_FILE = 'index.m3u8';

export function playerPath(streamId: string): string {
  return `/play/${streamId}`;
}

/** URIs relative to the media playlist (`/live/{streamId}/{rendition}/index.m3u8`). */
export const relativeMediaUri = {
  init: (sessionId: string) => `${sessionId}/init.mp4`,
  part: (sessionId: string, msn: number, part: number) => `${sessionId}/${msn}.${part}.m4s`,
  /**
   * A published segment: all of local segment `msn`, or (`fromPart` > 0) its parts from `fromPart` on. The
   * range is in the path, not a query, so the two are distinct resources (clients compare URIs without queries).
   */
  segment: (sessionId: string, msn: number, fromPart = 0) =>
    fromPart > 0 ? `${sessionId}/${msn}.${fromPart}-.m4s` : `${sessionId}/${msn}.m4s`,
  /** Another rendition's media playlist of the same event, for EXT-X-RENDITION-REPORT. */
  rendition: (rendition: string, eventId: string) => `../${rendition}/${eventId}.m3u8`,
  /** Another rendition's DVR playlist, for a DVR playlist's EXT-X-RENDITION-REPORT. */
  dvrRendition: (rendition: string, eventId: string) => `../${rendition}/${dvrPlaylistFile(eventId)}`,
};

/** A DVR media playlist's file name, beside the event's live one. */
export function dvrPlaylistFile(eventId: string): string {
  return `${eventId}.dvr.m3u8`;
}

/** URIs relative to the multivariant playlist (`/live/{streamId}/master.m3u8`). */
export const relativePlaylistUri = {
  /** A rendition's media playlist of the current event. */
  variant: (rendition: string, eventId: string) => `${rendition}/${eventId}.m3u8`,
};

/** A viewer path with its token (a JWT: dots in the first segment) replaced, for logs and problem bodies. */
export function redactViewerPath(path: string): string {
  return path.replace(/^\/(live|vod)\/[^/]*\.[^/]*/, '/$1/{token}');
}

/** A signed stream's URLs for one token: the multivariant with the token in place of the id, the player page. */
export function playbackTokenPaths(streamId: string, token: string): { hls: string; player: string } {
  return {
    hls: multivariantPath(token),
    player: `${playerPath(streamId)}?token=${encodeURIComponent(token)}`,
  };
}
