/**
 * `POST/GET/DELETE /v1/webhooks`: account-wide alert endpoints (mounted under the streams router so they share
 * its bearer check, body limit and OpenAPI document; every route needs `webhooks:write`). The signing secret is generated here and shown once, in
 * the 201; deliveries are signed with it by the Standard Webhooks scheme (src/webhooks/signature.ts).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { registryStub } from '../registry/registry-do.ts';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/events.ts';
import { checkWebhookTarget } from '../webhooks/target.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { requireScope } from './middleware/scopes.ts';
import { requireSecretsKey } from './middleware/secrets-key.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, security } from './openapi.ts';

export const webhooks = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const EventType = z.enum(WEBHOOK_EVENT_TYPES);

const CreateWebhookSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .openapi({
        description:
          'Receiver URL: https, and not a literal private, loopback or link-local address nor localhost ' +
          '(names are not resolved: DNS rebinding is not prevented). Dev mode (DEV_MODE=1) also allows http ' +
          'and loopback.',
        example: 'https://example.com/hooks/live',
      }),
    events: z
      .array(EventType)
      .max(WEBHOOK_EVENT_TYPES.length)
      .optional()
      .openapi({ description: 'Event types to deliver; absent or empty: all of them.' }),
  })
  .openapi('CreateWebhook');

const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_3f9a0c2d4e5b6a7c8d9e' }),
    url: z.string(),
    events: z.array(EventType),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Webhook');

const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description: 'Signing secret (`whsec_` + base64). Shown only in this response.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  }),
}).openapi('CreatedWebhook');

const DeliverySchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    attempts: z.number().int(),
    status: z.enum(['pending', 'delivered', 'failed']),
    nextAt: z.string().nullable().openapi({ format: 'date-time' }),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('WebhookDelivery');

const WebhookIdParams = z.object({
  id: z
    .string()
    .regex(/^wh_[0-9a-f]{1,40}$/)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'wh_3f9a0c2d4e5b6a7c8d9e' }),
});

const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope webhooks:write.'),
};
const scoped = {
  middleware: requireScope('webhooks:write'),
  description: 'Scope: `webhooks:write`.',
};

const createWebhookRoute = createRoute({
  method: 'post',
  path: '/webhooks',
  operationId: 'createWebhook',
  security,
  ...scoped,
  request: { body: { required: true, content: { 'application/json': { schema: CreateWebhookSchema } } } },
  responses: {
    201: json(CreatedWebhookSchema, 'Created; the only response carrying the secret.'),
    409: problem('Too many webhooks.'),
    422: problem('Invalid field, or a URL aimed at an internal address.'),
    503: problem('SECRETS_KEY is not set: the signing secret cannot be stored.'),
    ...common,
  },
});

const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/webhooks',
  operationId: 'listWebhooks',
  security,
  ...scoped,
  responses: { 200: json(z.object({ webhooks: z.array(WebhookSchema) }), 'All webhooks.'), ...common },
});

const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/webhooks/{id}',
  operationId: 'deleteWebhook',
  security,
  ...scoped,
  request: { params: WebhookIdParams },
  responses: {
    204: { description: 'Deleted; pending deliveries are dropped.' },
    404: problem('No such webhook.'),
    ...common,
  },
});

const listDeliveriesRoute = createRoute({
  method: 'get',
  path: '/webhooks/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  security,
  ...scoped,
  request: { params: WebhookIdParams },
  responses: {
    200: json(z.object({ deliveries: z.array(DeliverySchema) }), 'Recent deliveries, newest first.'),
    404: problem('No such webhook.'),
    ...common,
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

webhooks.openapi(createWebhookRoute, async (c) => {
  const body = c.req.valid('json');
  const verdict = checkWebhookTarget(new URL(body.url), { devMode: c.env.DEV_MODE === '1' });
  if (!verdict.ok) {
    throw new ApiError(422, 'webhook-target-refused', verdict.reason, {
      errors: [{ field: 'url', message: verdict.reason }],
    });
  }
  requireSecretsKey(c.env);
  const result = await registryStub(c.env).createWebhook({ url: body.url, events: body.events ?? [] });
  if (!result.ok) throw new ApiError(409, 'too-many-webhooks', result.detail);
  const { webhook, secret } = result;
  c.header('location', `/v1/webhooks/${webhook.id}`);
  return c.json({ ...webhook, createdAt: iso(webhook.createdAt), secret }, 201);
});

webhooks.openapi(listWebhooksRoute, async (c) => {
  const list = await registryStub(c.env).listWebhooks();
  return c.json({ webhooks: list.map((w) => ({ ...w, createdAt: iso(w.createdAt) })) }, 200);
});

webhooks.openapi(deleteWebhookRoute, async (c) => {
  const { id } = c.req.valid('param');
  if (!(await registryStub(c.env).deleteWebhook(id))) {
    throw new ApiError(404, 'webhook-not-found', `no webhook with id ${id}`);
  }
  return c.body(null, 204);
});

webhooks.openapi(listDeliveriesRoute, async (c) => {
  const { id } = c.req.valid('param');
  const list = await registryStub(c.env).webhookDeliveries(id);
  if (!list) throw new ApiError(404, 'webhook-not-found', `no webhook with id ${id}`);
  return c.json(
    {
      deliveries: list.map((d) => ({
        eventId: d.eventId,
        eventType: d.eventType,
        attempts: d.attempts,
        status: d.status,
        nextAt: d.nextAt === null ? null : iso(d.nextAt),
        lastStatus: d.lastStatus,
        lastError: d.lastError,
        updatedAt: iso(d.updatedAt),
      })),
    },
    200,
  );
});
