/**
 * Who is calling the developer API: the bootstrap `API_TOKEN` (the admin key, every scope) or an API key made
 * with `POST /v1/api-keys` (its scopes). Keys are looked up by SHA-256 in the registry, through a per-isolate
 * cache bounded at CREDENTIAL_CACHE_MS, so a revoked key stops working within 10 s (issue 16).
 */
import type { MiddlewareHandler } from 'hono';
import { CREDENTIAL_CACHE_MS, LookupCache } from '../../auth/lookup-cache.ts';
import { SCOPES, type Scope } from '../../auth/scopes.ts';
import type { Env } from '../../env.ts';
import { API_KEY_PATTERN, hashApiKey } from '../../registry/api-keys.ts';
import { registryStub } from '../../registry/registry-do.ts';
import { ApiError, problemResponse } from '../errors.ts';
import { bearerToken, constantTimeEqual } from './bearer.ts';

export interface Principal {
  /** `admin` for API_TOKEN, else the key's id (`key_...`). */
  id: string;
  name: string;
  kind: 'admin' | 'api-key';
  scopes: readonly Scope[];
}

export type PrincipalVars = { principal: Principal };

const ADMIN: Principal = { id: 'admin', name: 'API_TOKEN', kind: 'admin', scopes: SCOPES };

const keys = new LookupCache<Principal>(CREDENTIAL_CACHE_MS);

/** Forgets a revoked key in this isolate at once (other isolates within the cache bound). */
export function forgetApiKey(id: string): void {
  keys.evict((p) => p.id === id);
}

async function lookupKey(env: Env, token: string): Promise<Principal | null> {
  if (!API_KEY_PATTERN.test(token)) return null;
  const hash = await hashApiKey(token);
  const cached = keys.get(hash, Date.now());
  if (cached) return cached;
  const found = await registryStub(env).lookupApiKey(hash);
  if (!found) return null;
  const principal: Principal = { id: found.id, name: found.name, kind: 'api-key', scopes: found.scopes };
  keys.set(hash, principal, Date.now());
  return principal;
}

/** Requires a bearer API_TOKEN or API key; sets `principal` for requireScope (scopes.ts) and the handlers. */
export function authenticate(): MiddlewareHandler<{ Bindings: Env; Variables: PrincipalVars }> {
  return async (c, next) => {
    if (!c.env.API_TOKEN) throw new ApiError(503, 'not-configured', 'API_TOKEN is not set on this Worker');
    const token = bearerToken(c.req.header('authorization'));
    const principal =
      token === null
        ? null
        : (await constantTimeEqual(token, c.env.API_TOKEN))
          ? ADMIN
          : await lookupKey(c.env, token);
    if (!principal) {
      // RFC 6750 section 3: a 401 names the scheme the client must use.
      const error = token !== null ? ', error="invalid_token"' : '';
      return problemResponse(c, new ApiError(401, 'unauthorized', 'missing or invalid bearer token'), {
        'www-authenticate': `Bearer realm="edge-live"${error}`,
      });
    }
    c.set('principal', principal);
    await next();
  };
}
