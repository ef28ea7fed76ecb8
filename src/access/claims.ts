/**
 * Playback tokens (issue 16): a JWS-signed JWT that rides in a viewer URL in place of the stream id
 * (`/live/{token}/master.m3u8`, src/contract/playback.ts), so every relative URL in the playlists carries it
 * with no rewriting. One schema for what the service mints and what it accepts from a customer's own signer.
 *
 *   header   alg RS256 | ES256, kid (a key of GET /v1/signing-keys, or the service's own)
 *   claims   sub  the stream id                      exp  expiry, seconds since the epoch (required)
 *            nbf  not before (optional)              iat  issued at (optional; revocation compares it)
 *            gen  the stream's token generation when minted (optional, `revokedByGeneration` below)
 *            allowedOrigins, ip, country             access rules (optional, src/access/rules.ts)
 */
import { z } from 'zod';

/** Longest token accepted in a path, characters: an RS256 token with every rule is under 1.5 KiB. */
export const PLAYBACK_TOKEN_MAX_CHARS = 4096;

/**
 * Clock skew tolerated on exp, nbf and iat, seconds. Viewers' clocks do not matter (the Worker checks against
 * its own), but a customer's signer may run a little ahead or behind the edge.
 */
export const CLOCK_LEEWAY_SECONDS = 30;

/** Signature algorithms a token may use. `none` and the HMAC family are refused: keys here are asymmetric. */
export const TOKEN_ALGORITHMS = ['RS256', 'ES256'] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

export function isTokenAlgorithm(alg: unknown): alg is TokenAlgorithm {
  return (TOKEN_ALGORITHMS as readonly unknown[]).includes(alg);
}

/** A browser origin: scheme, host and optional port, nothing else (RFC 6454 serialization). */
const OriginSchema = z
  .string()
  .max(256)
  .regex(/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'an origin such as https://example.com');

/** Access rules a token may carry; each present rule must hold on every request. */
export const PlaybackRulesSchema = z.strictObject({
  /** Origins whose pages may play (the request's Origin, else its Referer's origin); CORS reflects them. */
  allowedOrigins: z.array(OriginSchema).min(1).max(32).optional(),
  /** The one client address (CF-Connecting-IP) that may play. */
  ip: z
    .string()
    .max(45)
    .regex(/^[0-9A-Fa-f:.]+$/, 'an IPv4 or IPv6 address')
    .optional(),
  /** ISO 3166-1 alpha-2 country the request must come from (request.cf.country). */
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as DE')
    .optional(),
});
export type PlaybackRules = z.infer<typeof PlaybackRulesSchema>;

const NumericDate = z
  .number()
  .int()
  .min(0)
  .max(2 ** 40);

export const PlaybackClaimsSchema = z.object({
  sub: z.string().min(1).max(128),
  exp: NumericDate,
  nbf: NumericDate.optional(),
  iat: NumericDate.optional(),
  gen: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional(),
  ...PlaybackRulesSchema.shape,
});
export type PlaybackClaims = z.infer<typeof PlaybackClaimsSchema>;

export type TimeCheck =
  | { ok: true }
  | { ok: false; type: 'token-expired' | 'token-not-yet-valid'; detail: string };

/** exp, nbf and iat against the Worker's clock, with CLOCK_LEEWAY_SECONDS either way. `now` in epoch ms. */
export function checkTokenTimes(claims: PlaybackClaims, now: number): TimeCheck {
  const seconds = now / 1000;
  if (seconds > claims.exp + CLOCK_LEEWAY_SECONDS) {
    return { ok: false, type: 'token-expired', detail: `token expired at ${iso(claims.exp)}` };
  }
  if (claims.nbf !== undefined && claims.nbf > seconds + CLOCK_LEEWAY_SECONDS) {
    return {
      ok: false,
      type: 'token-not-yet-valid',
      detail: `token is not valid before ${iso(claims.nbf)} (more than ${CLOCK_LEEWAY_SECONDS} s ahead of the server clock)`,
    };
  }
  if (claims.iat !== undefined && claims.iat > seconds + CLOCK_LEEWAY_SECONDS) {
    return {
      ok: false,
      type: 'token-not-yet-valid',
      detail: `token was issued at ${iso(claims.iat)}, more than ${CLOCK_LEEWAY_SECONDS} s ahead of the server clock`,
    };
  }
  return { ok: true };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** A stream's token generation as the edge sees it (src/registry/signing-keys.ts `TokenGeneration`). */
export interface GenerationView {
  generation: number;
  /** Seconds since the epoch, rounded up, of the last revoke-tokens; 0 when never revoked. */
  revokedAt: number;
}

/**
 * Whether POST /v1/streams/{id}/revoke-tokens refused this token: it did unless the token was minted in the
 * current generation (`gen`, what the service mints) or issued at or after the revocation (`iat`, what a
 * customer's own signer sets). A token with neither claim is refused by any revocation.
 */
export function revokedByGeneration(claims: PlaybackClaims, current: GenerationView): boolean {
  if (current.generation === 0) return false;
  if (claims.gen !== undefined && claims.gen >= current.generation) return false;
  if (claims.iat !== undefined && claims.iat >= current.revokedAt) return false;
  return true;
}
