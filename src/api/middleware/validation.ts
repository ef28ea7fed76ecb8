import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ApiError } from '../errors.ts';

export interface FieldError {
  /** Dotted path of the offending field, `(body)` for the body as a whole. */
  field: string;
  message: string;
}

/** One entry per zod issue; an unknown field is named as the field itself, so clients see which one. */
export function fieldErrors(error: ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: 'unknown field' }));
    }
    return [{ field: base || '(body)', message: issue.message }];
  });
}

/**
 * The `defaultHook` of every OpenAPIHono router: a failed validation becomes a problem+json naming the fields.
 * A body that is well-formed JSON but breaks the schema is 422 (RFC 9110 15.5.21, "unable to process the
 * contained instructions"); a bad path or query parameter is 400.
 */
type ValidationResult = { target: string } & ({ success: true } | { success: false; error: ZodError });

export function validationHook(result: ValidationResult): undefined {
  if (result.success) return undefined;
  const errors = fieldErrors(result.error);
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  const status = result.target === 'json' ? 422 : 400;
  throw new ApiError(status, 'validation-failed', `invalid ${result.target}: ${detail}`, { errors });
}

const HTTP_EXCEPTION_TYPES: Record<number, string> = {
  400: 'malformed-request',
  413: 'body-too-large',
  415: 'unsupported-media-type',
};

/**
 * hono's own validators throw `HTTPException` (400 malformed JSON, 415 wrong content type); this turns a 4xx
 * one into our `ApiError` so it leaves as problem+json like every other client error. Null for anything else.
 */
export function apiErrorFromHttpException(err: unknown): ApiError | null {
  if (!(err instanceof HTTPException) || err.status >= 500) return null;
  const detail =
    err.status === 415
      ? 'request body must be application/json'
      : err.message || `request rejected with status ${err.status}`;
  return new ApiError(err.status, HTTP_EXCEPTION_TYPES[err.status] ?? 'bad-request', detail);
}
