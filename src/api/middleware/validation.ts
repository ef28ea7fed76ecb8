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
  return error.issues.flatMap((issue) => issueErrors(issue, []));
}

type Issue = ZodError['issues'][number];

function issueErrors(issue: Issue, prefix: PropertyKey[]): FieldError[] {
  const path = [...prefix, ...issue.path];
  const base = path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: 'unknown field' }));
  }
  if (issue.code === 'invalid_union') {
    // zod reports a value that failed every alternative as one "Invalid input" at the union. When the value was
    // of one alternative's kind (a list for `ladder`, failing inside a rung), report that alternative's issues,
    // so the field named is the rung's (`ladder.0.height`); otherwise say what each alternative expected.
    const ofItsKind = issue.errors.filter((branch) => !branch.every(isKindMismatch));
    const [only] = ofItsKind;
    if (ofItsKind.length === 1 && only) return only.flatMap((inner) => issueErrors(inner, path));
    const expected = issue.errors.map((branch) => branch[0]?.message).filter((m) => m !== undefined);
    return [{ field: base || '(body)', message: expected.join('; or ') || issue.message }];
  }
  return [{ field: base || '(body)', message: issue.message }];
}

/** An issue saying the value is not of the expected kind at all (not a flaw inside a value of that kind). */
function isKindMismatch(issue: Issue): boolean {
  return issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
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
