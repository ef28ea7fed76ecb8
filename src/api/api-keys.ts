/**
 * `POST|GET /v1/api-keys`, `DELETE /v1/api-keys/{id}`, `GET /v1/api-keys/self` (issue 16). A key is made with
 * a name and scopes; its secret is shown once, in the 201, and stored as a hash. A caller never makes a key
 * wider than itself: every scope asked for must be one it holds (403 naming the rest). Mounted under the
 * streams router, so it shares its bearer check, body limit and OpenAPI document.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { missingScopes, SCOPE_DESCRIPTIONS, SCOPES, type Scope } from '../auth/scopes.ts';
import { API_KEY_ID_PATTERN } from '../registry/api-keys.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { forgetApiKey } from './middleware/principal.ts';
import { requireScope } from './middleware/scopes.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, security } from './openapi.ts';

export const apiKeys = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const scopeList = SCOPES.map((s) => `\`${s}\` (${SCOPE_DESCRIPTIONS[s]})`).join('; ');

// Scopes are checked by hand (not z.enum) so an unknown one gets a 422 that names it and lists the known ones.
const CreateApiKeySchema = z
  .strictObject({
    name: z.string().min(1).max(200).openapi({ example: 'grafana scraper' }),
    scopes: z
      .array(z.string().max(64))
      .min(1)
      .max(SCOPES.length)
      .openapi({ description: `Scopes of the key: ${scopeList}.`, example: ['streams:read'] }),
  })
  .openapi('CreateApiKey');

const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: 'key_k5q2m7xw4a3b9cde' }),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('ApiKey');

const CreatedApiKeySchema = ApiKeySchema.extend({
  secret: z.string().openapi({ description: 'Bearer secret (`ak_...`). Shown only in this response.' }),
}).openapi('CreatedApiKey');

const SelfSchema = z
  .object({
    id: z.string().openapi({ description: '`admin` for the bootstrap API_TOKEN, else the key id.' }),
    name: z.string(),
    kind: z.enum(['admin', 'api-key']),
    scopes: z.array(z.enum(SCOPES)),
  })
  .openapi('ApiKeySelf');

const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope keys:write.'),
};
const scoped = { middleware: requireScope('keys:write'), description: 'Scope: `keys:write`.' };

const createApiKeyRoute = createRoute({
  method: 'post',
  path: '/api-keys',
  operationId: 'createApiKey',
  security,
  ...scoped,
  request: { body: { required: true, content: { 'application/json': { schema: CreateApiKeySchema } } } },
  responses: {
    201: json(CreatedApiKeySchema, 'Created; the only response carrying the secret.'),
    403: problem('The caller lacks keys:write, or a scope it asks to give (a key never makes a wider key).'),
    409: problem('Too many API keys.'),
    422: problem('Unknown scope or invalid field.'),
    401: common[401],
  },
});

const listApiKeysRoute = createRoute({
  method: 'get',
  path: '/api-keys',
  operationId: 'listApiKeys',
  security,
  ...scoped,
  responses: {
    200: json(z.object({ apiKeys: z.array(ApiKeySchema) }), 'All API keys, no secrets.'),
    ...common,
  },
});

const selfRoute = createRoute({
  method: 'get',
  path: '/api-keys/self',
  operationId: 'getApiKeySelf',
  security,
  description: 'Any key: what it is and which scopes it holds (the dashboard shows only what they allow).',
  responses: { 200: json(SelfSchema, 'The calling key.'), 401: common[401] },
});

const deleteApiKeyRoute = createRoute({
  method: 'delete',
  path: '/api-keys/{id}',
  operationId: 'deleteApiKey',
  security,
  ...scoped,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(API_KEY_ID_PATTERN)
        .openapi({ param: { name: 'id', in: 'path' }, example: 'key_k5q2m7xw4a3b9cde' }),
    }),
  },
  responses: {
    204: { description: 'Revoked: refused everywhere within 10 s.' },
    404: problem('No such API key.'),
    ...common,
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

apiKeys.openapi(createApiKeyRoute, async (c) => {
  const body = c.req.valid('json');
  const unknown = body.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new ApiError(
      422,
      'unknown-scope',
      `unknown scope ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`,
      {
        errors: unknown.map((s) => ({ field: 'scopes', message: `unknown scope ${s}` })),
      },
    );
  }
  const scopes = SCOPES.filter((s) => body.scopes.includes(s));
  const wider = missingScopes(c.get('principal').scopes, scopes);
  if (wider.length > 0) {
    throw new ApiError(403, 'scope-escalation', `a key cannot give scopes it lacks: ${wider.join(', ')}`, {
      scopes: wider,
    });
  }
  const created = await registryStub(c.env).createApiKey(body.name, scopes as Scope[]);
  if (!created) throw new ApiError(409, 'too-many-api-keys', 'the account holds the most API keys it may');
  c.header('location', `/v1/api-keys/${created.key.id}`);
  c.header('cache-control', 'no-store');
  return c.json({ ...created.key, createdAt: iso(created.key.createdAt), secret: created.secret }, 201);
});

apiKeys.openapi(listApiKeysRoute, async (c) => {
  const list = await registryStub(c.env).listApiKeys();
  return c.json({ apiKeys: list.map((k) => ({ ...k, createdAt: iso(k.createdAt) })) }, 200);
});

apiKeys.openapi(selfRoute, (c) => {
  const { id, name, kind, scopes } = c.get('principal');
  return c.json({ id, name, kind, scopes: [...scopes] }, 200);
});

apiKeys.openapi(deleteApiKeyRoute, async (c) => {
  const { id } = c.req.valid('param');
  if (!(await registryStub(c.env).deleteApiKey(id))) {
    throw new ApiError(404, 'api-key-not-found', `no API key with id ${id}`);
  }
  forgetApiKey(id);
  return c.body(null, 204);
});
