/**
 * R2 key scheme. Keys are unique per publishing session, so the bytes under a key never change and the
 * viewer URLs that name them (src/contract/playback.ts) can be cached as immutable.
 *
 *   media/d{class}/{streamId}/{sessionId}/{rendition}/init.mp4
 *   media/d{class}/{streamId}/{sessionId}/{rendition}/{msn}.{part}.m4s
 *
 * `class` is the session's retention class in days (RETENTION_CLASSES): the stream's `retentionDays` when the
 * session started, rounded up to a class. It leads the key so that one R2 lifecycle rule per class prefix
 * (`media/d30/`, ...) can back the stream object's retention alarm in production (README, "Retention and
 * deletion"). The session id carries its class (`se_d30_…`), so every key, the relay's uploads and the viewer
 * URLs alike, is built from the URL alone, with no lookup.
 */

/** Retention classes, in days: a session's class is the first at or above its stream's retentionDays. */
export const RETENTION_CLASSES = [1, 7, 30, 90, 365, 3650] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

/** The longest class: that of a session id that names none (safe: a backstop rule never deletes it early). */
const LONGEST: RetentionClass = 3650;

export function retentionClass(retentionDays: number): RetentionClass {
  return RETENTION_CLASSES.find((c) => c >= retentionDays) ?? LONGEST;
}

const SESSION_CLASS = /^se_d(\d+)_/;

/** The retention class a session id names (`se_d30_…`), or the longest one. */
export function sessionClass(sessionId: string): RetentionClass {
  const days = Number(SESSION_CLASS.exec(sessionId)?.[1]);
  return RETENTION_CLASSES.find((c) => c === days) ?? LONGEST;
}

/** The id part of a new session's id for a stream keeping recordings `retentionDays` (src/registry/ids.ts). */
export function sessionIdPrefix(retentionDays: number): string {
  return `se_d${retentionClass(retentionDays)}_`;
}

/** One prefix per class: a stream's media lies under some of them (all of them are swept when it is deleted). */
export function streamPrefixes(streamId: string): string[] {
  return RETENTION_CLASSES.map((c) => `media/d${c}/${streamId}/`);
}

/** Everything one session wrote, all renditions. */
export function sessionPrefix(streamId: string, sessionId: string): string {
  return `media/d${sessionClass(sessionId)}/${streamId}/${sessionId}/`;
}

export function initKey(streamId: string, sessionId: string, rendition: string): string {
  return `${sessionPrefix(streamId, sessionId)}${rendition}/init.mp4`;
}

export function partKey(
  streamId: string,
  sessionId: string,
  rendition: string,
  msn: number,
  part: number,
): string {
  return `${sessionPrefix(streamId, sessionId)}${rendition}/${msn}.${part}.m4s`;
}
