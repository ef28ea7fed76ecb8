import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { redactViewerPath } from '../contract/playback.ts';

/**
 * The one error type of the Worker. Thrown anywhere in a request; `app.onError` turns it into an RFC 9457
 * `application/problem+json` response. `type` is a short slug, published as `urn:edge-live:problem:{type}`.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly type: string;
  readonly extras: Record<string, unknown> | undefined;

  constructor(status: ContentfulStatusCode, type: string, detail: string, extras?: Record<string, unknown>) {
    super(detail);
    this.status = status;
    this.type = type;
    this.extras = extras;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemResponse(c: Context, err: ApiError, headers?: Record<string, string>): Response {
  const body = {
    type: `urn:edge-live:problem:${err.type}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    // A viewer path may carry a playback token: it never leaves in a body either (bodies end up in logs).
    instance: redactViewerPath(new URL(c.req.url).pathname),
    ...err.extras,
  };
  return c.newResponse(JSON.stringify(body), err.status, {
    'content-type': 'application/problem+json',
    ...headers,
  });
}
