import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, problemResponse } from '../errors.ts';

/** JSON control requests (stream settings, a relay's authorize/start) are tiny; 16 KiB is generous. */
export const CONTROL_BODY_LIMIT = 16 * 1024;

/** hono's `bodyLimit` (checks Content-Length, then counts streamed bytes), answering 413 as problem+json. */
export function limitBody(maxBytes: number = CONTROL_BODY_LIMIT): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      problemResponse(c, new ApiError(413, 'body-too-large', `request body exceeds ${maxBytes} bytes`)),
  });
}
