import type { MiddlewareHandler } from 'hono';
import type { Env } from '../../env.ts';
import { ApiError, problemResponse } from '../errors.ts';

type TokenVar = 'API_TOKEN' | 'INGEST_TOKEN';

/** Requires `Authorization: Bearer <token>` matching the named variable, compared in constant time. */
export function requireBearer(tokenVar: TokenVar): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = c.env[tokenVar];
    if (!expected) throw new ApiError(503, 'not-configured', `${tokenVar} is not set on this Worker`);
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !(await constantTimeEqual(match[1] ?? '', expected))) {
      // RFC 6750 section 3: a 401 names the scheme the client must use.
      const error = match ? ', error="invalid_token"' : '';
      return problemResponse(c, new ApiError(401, 'unauthorized', 'missing or invalid bearer token'), {
        'www-authenticate': `Bearer realm="edge-live"${error}`,
      });
    }
    await next();
  };
}

const encoder = new TextEncoder();

/** Compares two secrets without leaking their length or the first differing byte through timing. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // Hash both sides first so the comparison runs over equal-length inputs whatever the lengths given.
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}
