/**
 * A token's access rules against one request, as a pure decision (src/access/claims.ts has the rules).
 * Origin, Referer, CF-Connecting-IP and request.cf.country are what the edge knows of the viewer; a
 * non-browser client can forge the first two, so `allowedOrigins` keeps other sites from embedding a stream
 * (their viewers' browsers send the true Origin), while `ip` and `country` bind a token to a network.
 */
import type { PlaybackRules } from './claims.ts';

export interface ViewerFacts {
  /** The Origin header; null when absent (browsers omit it on same-origin GETs). */
  origin: string | null;
  /** The Referer header; null when absent. */
  referer: string | null;
  /** CF-Connecting-IP; null when absent (local development). */
  ip: string | null;
  /** request.cf.country; null when unknown (local development). */
  country: string | null;
}

export type RuleCheck = { ok: true } | { ok: false; detail: string };

/** The page origin a request comes from: its Origin, else the origin of its Referer. */
export function pageOrigin(facts: ViewerFacts): string | null {
  if (facts.origin && facts.origin !== 'null') return facts.origin;
  if (!facts.referer) return null;
  try {
    return new URL(facts.referer).origin;
  } catch {
    return null;
  }
}

export function checkRules(rules: PlaybackRules, facts: ViewerFacts): RuleCheck {
  if (rules.allowedOrigins) {
    const origin = pageOrigin(facts);
    if (origin === null) {
      return {
        ok: false,
        detail: 'this token plays only on its allowed origins; the request names no origin',
      };
    }
    if (!rules.allowedOrigins.includes(origin)) {
      return { ok: false, detail: `this token does not play on ${origin}` };
    }
  }
  if (rules.ip !== undefined && normalizeIp(rules.ip) !== normalizeIp(facts.ip ?? '')) {
    return { ok: false, detail: 'this token is bound to another client address' };
  }
  if (rules.country !== undefined && rules.country !== facts.country) {
    return { ok: false, detail: `this token plays only in ${rules.country}` };
  }
  return { ok: true };
}

/** IPv6 literals compare case-insensitively; full normalization is left to whoever writes the rule. */
function normalizeIp(ip: string): string {
  return ip.trim().toLowerCase();
}

/**
 * Access-Control-Allow-Origin for a request: `*` when the token restricts no origin, else the request's own
 * Origin when it is allowed (so a browser lets only those pages read the media), else none.
 */
export function allowOrigin(rules: PlaybackRules | null, requestOrigin: string): string | null {
  if (!rules?.allowedOrigins) return '*';
  return rules.allowedOrigins.includes(requestOrigin) ? requestOrigin : null;
}
