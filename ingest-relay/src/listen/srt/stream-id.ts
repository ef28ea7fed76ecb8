/**
 * Stream id parsing. Two forms are accepted:
 *   - a bare stream key: `abc123`;
 *   - the SRT Access Control syntax (libsrt docs/features/access-control.md): `#!::r=KEY,m=publish`, a
 *     comma-separated list of `key=value` in any order. Unknown keys are ignored.
 * Only publishing is accepted: this is an ingest listener. An absent `m` means publish here (libsrt's default
 * is `request`, but an encoder configured with only `r=` clearly means to publish to us).
 */
export type StreamIdResult = { ok: true; streamKey: string } | { ok: false; reject: number; reason: string };

/** User-level rejection codes (SRT_REJX_*, libsrt srt.h), sent as handshake type 1000 + code. */
export const RejectX = {
  badRequest: 1400,
  unauthorized: 1401,
  forbidden: 1403,
  notFound: 1404,
  badMode: 1405,
  conflict: 1409,
  internalError: 1500,
  unavailable: 1503,
} as const;

const MAX_STREAM_ID = 512;

export function parseStreamId(raw: string): StreamIdResult {
  if (raw.length === 0) return { ok: false, reject: RejectX.badRequest, reason: 'empty stream id' };
  if (raw.length > MAX_STREAM_ID)
    return { ok: false, reject: RejectX.badRequest, reason: 'stream id too long' };
  if (!raw.startsWith('#!::')) {
    return raw.includes(',') || raw.includes('=')
      ? { ok: false, reject: RejectX.badRequest, reason: 'stream id is neither a key nor #!:: syntax' }
      : { ok: true, streamKey: raw };
  }
  const fields = new Map<string, string>();
  for (const item of raw.slice(4).split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const mode = fields.get('m') ?? 'publish';
  if (mode !== 'publish') {
    return {
      ok: false,
      reject: RejectX.badMode,
      reason: `mode '${mode}' refused: this listener only accepts publish`,
    };
  }
  const key = fields.get('r');
  if (key === undefined || key.length === 0) {
    return { ok: false, reject: RejectX.badRequest, reason: 'stream id has no r= resource' };
  }
  return { ok: true, streamKey: key };
}
