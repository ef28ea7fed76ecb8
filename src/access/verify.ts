/**
 * A playback token's form, header and signature, checked against the signing keys the edge knows
 * (src/access/key-set.ts). Each failure is an ApiError with its own problem type, so a developer can tell a
 * malformed token from an expired one. Signatures are verified once per isolate and token (a viewer sends the
 * same token several times a second); expiry, revocation and rules are checked on every request by the caller.
 */
import { compactVerify, decodeProtectedHeader, errors } from 'jose';
import { ApiError } from '../api/errors.ts';
import {
  checkTokenTimes,
  isTokenAlgorithm,
  PLAYBACK_TOKEN_MAX_CHARS,
  type PlaybackClaims,
  PlaybackClaimsSchema,
  type TokenAlgorithm,
} from './claims.ts';

/** A public key the edge verifies with, imported once per key set. */
export interface ImportedKey {
  algorithm: TokenAlgorithm;
  key: CryptoKey;
}

export interface EdgeKeySet {
  keys: ReadonlyMap<string, ImportedKey>;
  /** Kids revoked through DELETE /v1/signing-keys/{id}: named in the refusal, unlike an unknown kid. */
  revoked: ReadonlySet<string>;
}

export interface VerifiedToken {
  kid: string;
  claims: PlaybackClaims;
}

/** Three base64url parts (RFC 7515 7.1 compact serialization); an empty signature is `alg: none`'s. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Tokens whose signature this isolate verified, oldest first; bounded, so a flood of tokens costs only CPU. */
const verified = new Map<string, VerifiedToken>();
const VERIFIED_MAX = 2_000;

const malformed = (detail: string) => new ApiError(400, 'malformed-token', detail);
const unauthorized = (type: string, detail: string) => new ApiError(401, type, detail);

/** The token's form and header: cheap checks that need no key. Returns the header's kid and alg. */
export function readTokenHeader(token: string): { kid: string; alg: TokenAlgorithm } {
  if (token.length > PLAYBACK_TOKEN_MAX_CHARS) {
    throw new ApiError(
      414,
      'token-too-long',
      `playback tokens are at most ${PLAYBACK_TOKEN_MAX_CHARS} characters`,
    );
  }
  if (!COMPACT_JWS.test(token))
    throw malformed('a playback token is a JWT: three base64url parts joined by dots');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw malformed('the token header is not base64url JSON');
  }
  if (typeof header.alg !== 'string') throw malformed('the token header names no alg');
  if (!isTokenAlgorithm(header.alg)) {
    throw unauthorized(
      'token-algorithm-refused',
      `tokens are signed with RS256 or ES256; ${JSON.stringify(header.alg)} is refused`,
    );
  }
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 64) {
    throw malformed('the token header names no kid (the signing key id)');
  }
  return { kid: header.kid, alg: header.alg };
}

/**
 * Verifies `token` with the key its kid names and checks its times; throws the refusal's ApiError. The key set
 * is asked for only once the token's form passed, so a malformed token is a 400 even with the registry away.
 */
export async function verifyPlaybackToken(
  token: string,
  keys: () => Promise<EdgeKeySet>,
  now: number,
): Promise<VerifiedToken> {
  const { kid, alg } = readTokenHeader(token);
  const keySet = await keys();
  if (keySet.revoked.has(kid)) throw unauthorized('signing-key-revoked', `signing key ${kid} was revoked`);
  const imported = keySet.keys.get(kid);
  if (!imported) throw unauthorized('unknown-signing-key', `no signing key ${kid}`);
  const result = verified.get(token) ?? (await verifySignature(token, kid, alg, imported));
  const times = checkTokenTimes(result.claims, now);
  if (!times.ok) throw unauthorized(times.type, times.detail);
  return result;
}

async function verifySignature(token: string, kid: string, alg: TokenAlgorithm, imported: ImportedKey) {
  if (alg !== imported.algorithm) {
    throw unauthorized(
      'bad-token-signature',
      `signing key ${kid} is an ${imported.algorithm} key, not ${alg}`,
    );
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, imported.key, { algorithms: [imported.algorithm] }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      throw unauthorized('bad-token-signature', 'the token signature does not verify');
    }
    throw malformed('the token is not a valid JWS');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw malformed('the token claims are not JSON');
  }
  const parsed = PlaybackClaimsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.map(String).join('.') || 'claims';
    throw malformed(`token claim ${at}: ${issue?.message ?? 'invalid'}`);
  }
  const result = { kid, claims: parsed.data };
  verified.set(token, result);
  if (verified.size > VERIFIED_MAX) {
    const oldest = verified.keys().next().value;
    if (oldest !== undefined) verified.delete(oldest);
  }
  return result;
}
