/**
 * Viewer URL scheme. Media URLs carry the publishing session id, so every media URL names bytes that never
 * change and can be cached as immutable. Stream keys never appear here.
 *
 *   /live/{streamId}/master.m3u8                                   multivariant playlist
 *   /live/{streamId}/{rendition}/index.m3u8                        media playlist (LL-HLS)
 *   /live/{streamId}/{rendition}/{sessionId}/init.mp4              init segment (EXT-X-MAP)
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.{part}.m4s      part
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.m4s             whole segment (its parts, concatenated)
 *   /live/{streamId}/{rendition}/{sessionId}/{msn}.{part}-.m4s     segment published from part {part} on (a
 *                                                                  failover joined at that keyframe): parts
 *                                                                  {part}.. of local segment {msn}, concatenated
 *   /play/{streamId}                                               player page
 */

export function multivariantPath(streamId: string): string {
  return `/live/${streamId}/master.m3u8`;
}

export function mediaPlaylistPath(streamId: string, rendition: string): string {
  return `/live/${streamId}/${rendition}/index.m3u8`;
}

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
  /** Another rendition's media playlist, for EXT-X-RENDITION-REPORT. */
  rendition: (rendition: string) => `../${rendition}/index.m3u8`,
};
