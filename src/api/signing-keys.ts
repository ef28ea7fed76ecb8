/**
 * `POST/GET/DELETE /v1/signing-keys`: keys customers sign playback tokens with themselves, so handing a viewer
 * a token costs no API call (issue 16). The key pair is made here; the private key is in the 201 alone (PEM
 * and JWK) and only the public JWK is stored. Mounted under the streams router: same bearer check, body limit
 * and OpenAPI document.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { TOKEN_ALGORITHMS } from '../access/claims.ts';
import { forgetKeySet } from '../access/edge-registry.ts';
import { registryStub } from '../registry/registry-do.ts';
import { newSigningKeyId, SIGNING_KEY_ID_PATTERN } from '../registry/signing-keys.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { requireScope } from './middleware/scopes.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, security } from './openapi.ts';

export const signingKeys = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const Jwk = z.record(z.string(), z.unknown()).openapi({ description: 'A JSON Web Key (RFC 7517).' });

const CreateSigningKeySchema = z
  .strictObject({
    algorithm: z
      .enum(TOKEN_ALGORITHMS)
      .optional()
      .openapi({ description: 'RS256 (default, RSA 2048) or ES256 (P-256).', default: 'RS256' }),
  })
  .openapi('CreateSigningKey');

const SigningKeySchema = z
  .object({
    id: z
      .string()
      .openapi({ description: 'The `kid` a token header names.', example: 'key_mfrggzdfmztwq2lk' }),
    algorithm: z.enum(TOKEN_ALGORITHMS),
    publicKey: Jwk,
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('SigningKey');

const CreatedSigningKeySchema = SigningKeySchema.extend({
  privateKey: z
    .object({
      pem: z.string().openapi({ description: 'PKCS #8 PEM.' }),
      jwk: Jwk,
    })
    .openapi({ description: 'Shown only in this response; the service keeps no copy.' }),
}).openapi('CreatedSigningKey');

const SigningKeyIdParams = z.object({
  id: z
    .string()
    .regex(SIGNING_KEY_ID_PATTERN)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'key_mfrggzdfmztwq2lk' }),
});

const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope keys:write.'),
};
const scoped = { middleware: requireScope('keys:write'), description: 'Scope: `keys:write`.' };

const createSigningKeyRoute = createRoute({
  method: 'post',
  path: '/signing-keys',
  operationId: 'createSigningKey',
  security,
  ...scoped,
  request: { body: { required: false, content: { 'application/json': { schema: CreateSigningKeySchema } } } },
  responses: {
    201: json(CreatedSigningKeySchema, 'Created; the only response carrying the private key.'),
    422: problem('Invalid field.'),
    ...common,
  },
});

const listSigningKeysRoute = createRoute({
  method: 'get',
  path: '/signing-keys',
  operationId: 'listSigningKeys',
  security,
  ...scoped,
  responses: {
    200: json(z.object({ signingKeys: z.array(SigningKeySchema) }), 'Active keys, newest first.'),
    ...common,
  },
});

const deleteSigningKeyRoute = createRoute({
  method: 'delete',
  path: '/signing-keys/{id}',
  operationId: 'revokeSigningKey',
  security,
  ...scoped,
  request: { params: SigningKeyIdParams },
  responses: {
    204: { description: 'Revoked: its tokens are refused everywhere within 10 s.' },
    404: problem('No such active key.'),
    ...common,
  },
});

signingKeys.openapi(createSigningKeyRoute, async (c) => {
  const body: { algorithm?: (typeof TOKEN_ALGORITHMS)[number] } | undefined = c.req.valid('json');
  const algorithm = body?.algorithm ?? 'RS256';
  const id = newSigningKeyId('customer');
  const pair = await generateKeyPair(algorithm, { extractable: true });
  const meta = { kid: id, alg: algorithm, use: 'sig' };
  const publicJwk = { ...(await exportJWK(pair.publicKey)), ...meta };
  const record = await registryStub(c.env).addSigningKey({ id, algorithm, publicJwk });
  forgetKeySet();
  c.header('location', `/v1/signing-keys/${id}`);
  return c.json(
    {
      id,
      algorithm,
      publicKey: publicJwk,
      createdAt: new Date(record.createdAt).toISOString(),
      privateKey: {
        pem: await exportPKCS8(pair.privateKey),
        jwk: { ...(await exportJWK(pair.privateKey)), ...meta },
      },
    },
    201,
  );
});

signingKeys.openapi(listSigningKeysRoute, async (c) => {
  const keys = await registryStub(c.env).listSigningKeys();
  return c.json(
    {
      signingKeys: keys.map((k) => ({
        id: k.id,
        algorithm: k.algorithm,
        publicKey: k.publicJwk,
        createdAt: new Date(k.createdAt).toISOString(),
      })),
    },
    200,
  );
});

signingKeys.openapi(deleteSigningKeyRoute, async (c) => {
  const { id } = c.req.valid('param');
  if (!(await registryStub(c.env).revokeSigningKey(id))) {
    throw new ApiError(404, 'signing-key-not-found', `no active signing key with id ${id}`);
  }
  forgetKeySet();
  return c.body(null, 204);
});
