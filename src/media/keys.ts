/**
 * R2 key scheme. Keys are unique per publishing session, so the bytes under a key never change and the
 * viewer URLs that name them (src/contract/playback.ts) can be cached as immutable.
 *
 *   media/{streamId}/{sessionId}/{rendition}/init.mp4
 *   media/{streamId}/{sessionId}/{rendition}/{msn}.{part}.m4s
 */

export function streamPrefix(streamId: string): string {
  return `media/${streamId}/`;
}

export function initKey(streamId: string, sessionId: string, rendition: string): string {
  return `${streamPrefix(streamId)}${sessionId}/${rendition}/init.mp4`;
}

export function partKey(
  streamId: string,
  sessionId: string,
  rendition: string,
  msn: number,
  part: number,
): string {
  return `${streamPrefix(streamId)}${sessionId}/${rendition}/${msn}.${part}.m4s`;
}
