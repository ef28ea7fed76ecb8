/**
 * Response headers of issue 16: `X-Content-Type-Options: nosniff` on every Worker response, and a strict
 * Content-Security-Policy on the two pages. Neither page needs inline script or style (public/ holds only
 * external files), so neither policy allows `unsafe-inline`. hls.js needs `blob:` twice: its transmuxer runs
 * in a Worker made from a blob URL (`enableWorker`), and the video element plays a MediaSource blob URL.
 * Static files served by the assets layer get the same nosniff from public/_headers.
 */
import type { MiddlewareHandler } from 'hono';
import type { Env } from '../env.ts';

const COMMON = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
];

/**
 * The player page: embeddable where PLAYER_FRAME_ANCESTORS says (default `*`: customers embed it on their own
 * sites). Sources are only this origin's `/live` URLs, so `connect-src 'self'` suffices.
 */
export function playerPolicy(env: Env): string {
  const ancestors = env.PLAYER_FRAME_ANCESTORS?.trim() || '*';
  return [
    ...COMMON,
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "form-action 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

/** The dashboard holds an API key: never framed (clickjacking), and its form never submits anywhere. */
export const DASHBOARD_POLICY = [...COMMON, "form-action 'none'", "frame-ancestors 'none'"].join('; ');

/** nosniff on every Worker response (problem+json, playlists, media, API JSON). */
export function noSniff(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    await next();
    c.res.headers.set('x-content-type-options', 'nosniff');
  };
}
