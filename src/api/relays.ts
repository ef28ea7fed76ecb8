/**
 * `POST|GET /v1/relays`, `DELETE /v1/relays/{id}` (issue 16, scope `keys:write`): one credential per relay
 * box. The secret is shown once, in the 201, and given to the relay as its `INGEST_TOKEN`; the Worker keeps a
 * hash. Sessions the relay starts carry the credential's id as their relayId. Revoking refuses the secret
 * within 10 s, and each stream object ends the relay's sessions at their next upload.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { registryStub } from '../registry/registry-do.ts';
import { RELAY_ID_PATTERN } from '../registry/relays.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { forgetRelayCredential } from './middleware/relay-auth.ts';
import { requireScope } from './middleware/scopes.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, security } from './openapi.ts';

export const relays = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const RelaySchema = z
  .object({
    id: z.string().openapi({ example: 'rl_k5q2m7xw4a3b9cde', description: 'The relayId of its sessions.' }),
    name: z.string(),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('RelayCredential');

const CreatedRelaySchema = RelaySchema.extend({
  secret: z.string().openapi({
    description:
      'The relay\u2019s bearer credential (`rc_...`): set it as the relay\u2019s INGEST_TOKEN. Shown once.',
  }),
}).openapi('CreatedRelayCredential');

const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope keys:write.'),
};
const scoped = { middleware: requireScope('keys:write'), description: 'Scope: `keys:write`.' };

const createRelayRoute = createRoute({
  method: 'post',
  path: '/relays',
  operationId: 'createRelayCredential',
  security,
  ...scoped,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({ name: z.string().min(1).max(200) }).openapi('CreateRelayCredential'),
        },
      },
    },
  },
  responses: {
    201: json(CreatedRelaySchema, 'Issued; the only response carrying the secret.'),
    409: problem('Too many relay credentials.'),
    422: problem('Invalid field.'),
    ...common,
  },
});

const listRelaysRoute = createRoute({
  method: 'get',
  path: '/relays',
  operationId: 'listRelayCredentials',
  security,
  ...scoped,
  responses: { 200: json(z.object({ relays: z.array(RelaySchema) }), 'All relay credentials.'), ...common },
});

const deleteRelayRoute = createRoute({
  method: 'delete',
  path: '/relays/{id}',
  operationId: 'deleteRelayCredential',
  security,
  ...scoped,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(RELAY_ID_PATTERN)
        .openapi({ param: { name: 'id', in: 'path' }, example: 'rl_k5q2m7xw4a3b9cde' }),
    }),
  },
  responses: {
    204: { description: 'Revoked: its uploads fail and its sessions end within 10 s.' },
    404: problem('No such relay credential.'),
    ...common,
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

relays.openapi(createRelayRoute, async (c) => {
  const { name } = c.req.valid('json');
  const issued = await registryStub(c.env).issueRelayCredential(name);
  if (!issued)
    throw new ApiError(409, 'too-many-relays', 'the account holds the most relay credentials it may');
  c.header('location', `/v1/relays/${issued.relay.id}`);
  c.header('cache-control', 'no-store');
  return c.json({ ...issued.relay, createdAt: iso(issued.relay.createdAt), secret: issued.secret }, 201);
});

relays.openapi(listRelaysRoute, async (c) => {
  const list = await registryStub(c.env).listRelayCredentials();
  return c.json({ relays: list.map((r) => ({ ...r, createdAt: iso(r.createdAt) })) }, 200);
});

relays.openapi(deleteRelayRoute, async (c) => {
  const { id } = c.req.valid('param');
  if (!(await registryStub(c.env).revokeRelayCredential(id))) {
    throw new ApiError(404, 'relay-not-found', `no relay credential with id ${id}`);
  }
  forgetRelayCredential(id);
  return c.body(null, 204);
});
