/**
 * `requireScope(scope)`: the per-route check of issue 16. Mounted after `authenticate()` (principal.ts); a
 * caller without the scope gets a 403 problem naming it, before the handler (or its body validation) runs.
 *
 *   route: createRoute({ ..., middleware: [requireScope('playback:sign')] })
 *   plain: router.get('/metrics', requireScope('metrics:read'), handler)
 */
import type { MiddlewareHandler } from 'hono';
import type { Scope } from '../../auth/scopes.ts';
import type { Env } from '../../env.ts';
import { ApiError } from '../errors.ts';
import type { Principal, PrincipalVars } from './principal.ts';

export function missingScopeError(scope: Scope): ApiError {
  return new ApiError(403, 'missing-scope', `this API key lacks the scope ${scope}`, { scope });
}

export function requireScope(scope: Scope): MiddlewareHandler<{ Bindings: Env; Variables: PrincipalVars }> {
  return async (c, next) => {
    const principal: Principal | undefined = c.get('principal');
    // No principal means the route was mounted without authenticate(): refuse rather than run open.
    if (!principal) throw new ApiError(401, 'unauthorized', 'missing or invalid bearer token');
    if (!principal.scopes.includes(scope)) throw missingScopeError(scope);
    await next();
  };
}
