/**
 * Who is calling the relay's internal routes: the environment's `INGEST_TOKEN` (the local default, one shared
 * credential) or a relay credential issued by `POST /v1/relays`. With an issued credential the relay's
 * identity is the credential's id, whatever the relay says of itself; lookups are cached per isolate for at
 * most CREDENTIAL_CACHE_MS, and the stream object checks revocation again where uploads land
 * (src/stream/relay-gate.ts).
 */
import type { MiddlewareHandler } from 'hono';
import { CREDENTIAL_CACHE_MS, LookupCache } from '../../auth/lookup-cache.ts';
import type { Env } from '../../env.ts';
import { registryStub } from '../../registry/registry-do.ts';
import { hashRelaySecret, RELAY_SECRET_PATTERN } from '../../registry/relays.ts';
import { ApiError, problemResponse } from '../errors.ts';
import { bearerToken, constantTimeEqual } from './bearer.ts';

export interface RelayCaller {
  /** The issued credential's id (`rl_...`); null for the environment's INGEST_TOKEN. */
  credentialId: string | null;
  name: string;
  /**
   * A revoked credential is let through only to its own sessions' routes, so that the stream object (which
   * checks it again) ends those sessions with the reason instead of leaving them to go stale.
   */
  revoked: boolean;
}

export type RelayVars = { relay: RelayCaller };

const DEFAULT_RELAY: RelayCaller = { credentialId: null, name: 'INGEST_TOKEN', revoked: false };
/** Routes of one session (uploads, health, end): where a revoked relay is sent on to the stream object. */
const SESSION_ROUTE = /^\/internal\/v1\/streams\/[^/]+\/sessions\/[^/]+\//;
const credentials = new LookupCache<RelayCaller>(CREDENTIAL_CACHE_MS);

export function forgetRelayCredential(id: string): void {
  credentials.evict((r) => r.credentialId === id);
}

async function lookupCredential(env: Env, token: string): Promise<RelayCaller | null> {
  if (!RELAY_SECRET_PATTERN.test(token)) return null;
  const hash = await hashRelaySecret(token);
  const cached = credentials.get(hash, Date.now());
  if (cached) return cached;
  const found = await registryStub(env).lookupRelayCredential(hash);
  if (!found) return null;
  const caller: RelayCaller = { credentialId: found.id, name: found.name, revoked: found.revokedAt !== null };
  credentials.set(hash, caller, Date.now());
  return caller;
}

export function authenticateRelay(): MiddlewareHandler<{ Bindings: Env; Variables: RelayVars }> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    const expected = c.env.INGEST_TOKEN;
    const caller =
      token === null
        ? null
        : expected && (await constantTimeEqual(token, expected))
          ? DEFAULT_RELAY
          : await lookupCredential(c.env, token);
    if (!caller || (caller.revoked && !SESSION_ROUTE.test(c.req.path))) {
      const error = token !== null ? ', error="invalid_token"' : '';
      return problemResponse(c, new ApiError(401, 'unauthorized', 'missing or invalid relay credential'), {
        'www-authenticate': `Bearer realm="edge-live-ingest"${error}`,
      });
    }
    c.set('relay', caller);
    await next();
  };
}
