import { OpenAPIHono } from '@hono/zod-openapi';
import { forgetStreamAccess } from '../access/edge-registry.ts';
import {
  CONFIG_FIELDS,
  DEFAULT_STREAM_CONFIG,
  resolveConfig,
  type StreamConfig,
  type StreamConfigField,
} from '../contract/stream-config.ts';
import { streamObject } from '../env.ts';
import { decodeCursor } from '../registry/cursor.ts';
import { generateStreamId, generateStreamKey, hashStreamKey } from '../registry/ids.ts';
import { registryStub } from '../registry/registry-do.ts';
import { apiKeys } from './api-keys.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { metrics } from './metrics.ts';
import { requireSecretsKey } from './middleware/secrets-key.ts';
import { validationHook } from './middleware/validation.ts';
import {
  createStreamRoute,
  deleteStreamRoute,
  getStreamRoute,
  listStreamsRoute,
  rotateKeyRoute,
  streamHealthRoute,
  updateStreamRoute,
} from './openapi.ts';
import { playbackTokens } from './playback-tokens.ts';
import { recordings } from './recordings.ts';
import { relays } from './relays.ts';
import { signingKeys } from './signing-keys.ts';
import { toStreamResource, urlBases } from './stream-resource.ts';
import { webhooks } from './webhooks.ts';

/**
 * The developer REST API, mounted at `/v1` (bearer API_TOKEN and the body limit are applied in app.ts).
 * The registry Durable Object holds the catalogue; each stream's own Durable Object holds its live state.
 */
export const streams = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

streams.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
  type: 'http',
  scheme: 'bearer',
});

function notFound(id: string): ApiError {
  return new ApiError(404, 'stream-not-found', `no stream with id ${id}`);
}

/** The config fields of a request body (the schema's fields; absent ones stay absent). */
function pickConfig(body: Partial<StreamConfig>): Partial<StreamConfig> {
  const change: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_FIELDS) as StreamConfigField[]) {
    if (body[key] !== undefined) change[key] = body[key];
  }
  return change as Partial<StreamConfig>;
}

streams.openapi(createStreamRoute, async (c) => {
  const body = c.req.valid('json');
  if (body.srtPassphrase !== undefined) requireSecretsKey(c.env);
  const resolved = resolveConfig(DEFAULT_STREAM_CONFIG, pickConfig(body));
  if (!resolved.ok) {
    throw new ApiError(422, 'validation-failed', resolved.detail, {
      errors: [{ field: resolved.field, message: resolved.detail }],
    });
  }
  const streamKey = generateStreamKey();
  const backupStreamKey = generateStreamKey();
  const record = await registryStub(c.env).create({
    id: generateStreamId(),
    name: body.name ?? '',
    keyHash: await hashStreamKey(streamKey),
    backupKeyHash: await hashStreamKey(backupStreamKey),
    config: resolved.config,
    srtPassphrase: body.srtPassphrase ?? null,
    now: Date.now(),
  });
  c.header('location', `/v1/streams/${record.id}`);
  c.header('cache-control', 'no-store');
  return c.json(toStreamResource(record, urlBases(c.env, c.req.url), { streamKey, backupStreamKey }), 201);
});

streams.openapi(listStreamsRoute, async (c) => {
  const { limit, cursor } = c.req.valid('query');
  if (cursor !== undefined && decodeCursor(cursor) === null) {
    throw new ApiError(400, 'invalid-cursor', 'cursor is not a nextCursor this API returned');
  }
  const page = await registryStub(c.env).list(limit, cursor ?? null);
  const bases = urlBases(c.env, c.req.url);
  return c.json(
    { streams: page.streams.map((s) => toStreamResource(s, bases)), nextCursor: page.nextCursor },
    200,
  );
});

streams.openapi(getStreamRoute, async (c) => {
  const { id } = c.req.valid('param');
  const record = await registryStub(c.env).get(id);
  if (!record) throw notFound(id);
  return c.json(toStreamResource(record, urlBases(c.env, c.req.url)), 200);
});

streams.openapi(updateStreamRoute, async (c) => {
  const { id } = c.req.valid('param');
  const body = c.req.valid('json');
  if (typeof body.srtPassphrase === 'string') requireSecretsKey(c.env);
  const result = await registryStub(c.env).update(
    id,
    { name: body.name, config: pickConfig(body), srtPassphrase: body.srtPassphrase },
    Date.now(),
  );
  if (!result.ok) {
    if (result.code === 'not-found') throw notFound(id);
    throw new ApiError(422, 'validation-failed', result.detail, {
      errors: [{ field: result.field, message: result.detail }],
    });
  }
  // A policy change applies at once: here now, at the other isolates within 10 s (src/access/edge-registry.ts).
  forgetStreamAccess(id);
  // So does a retention change: the stream object moves its expiry alarm (recordings already made too).
  await streamObject(c.env, id).setRetentionDays(result.stream.config.retentionDays);
  return c.json(toStreamResource(result.stream, urlBases(c.env, c.req.url)), 200);
});

streams.openapi(deleteStreamRoute, async (c) => {
  const { id } = c.req.valid('param');
  if (!(await registryStub(c.env).delete(id))) throw notFound(id);
  // The catalogue entry goes first: its key stops authorizing at once, then the live state is torn down and
  // the media queued for the stream object's sweep (answered at once, whatever the media's size).
  await streamObject(c.env, id).destroy(id);
  // Its viewer URLs, media included, are refused here now and at the other isolates within 10 s.
  forgetStreamAccess(id);
  return c.body(null, 204);
});

streams.openapi(rotateKeyRoute, async (c) => {
  const { id } = c.req.valid('param');
  // The body is optional (required: false): absent or empty means the primary key.
  const body: { which?: 'primary' | 'backup' } | undefined = c.req.valid('json');
  const which = body?.which ?? 'primary';
  const streamKey = generateStreamKey();
  const record = await registryStub(c.env).rotateKey(id, which, await hashStreamKey(streamKey), Date.now());
  if (!record) throw notFound(id);
  const shown = which === 'primary' ? { streamKey } : { backupStreamKey: streamKey };
  c.header('cache-control', 'no-store');
  return c.json(toStreamResource(record, urlBases(c.env, c.req.url), shown), 200);
});

streams.openapi(streamHealthRoute, async (c) => {
  const { id } = c.req.valid('param');
  const record = await registryStub(c.env).get(id);
  if (!record) throw notFound(id);
  const health: unknown = await streamObject(c.env, id).getHealth();
  const fields = typeof health === 'object' && health !== null ? (health as Record<string, unknown>) : {};
  // The registry's status is the catalogue's answer; the object's own fields describe the live session.
  return c.json({ ...fields, streamId: id, status: record.status }, 200);
});

streams.route('/', webhooks);
streams.route('/', signingKeys);
streams.route('/', playbackTokens);
streams.route('/', apiKeys);
streams.route('/', relays);
streams.route('/', recordings);
streams.route('/', metrics);

// Public: the document describes the API and holds no data. Servers point at this deployment's /v1.
streams.doc('/openapi.json', (c) => ({
  openapi: '3.0.3',
  info: {
    title: 'edge-live streams API',
    version: '1.0.0',
    description:
      'Create and manage live streams. All routes except this document need `Authorization: Bearer <key>`: ' +
      'the bootstrap API_TOKEN (every scope) or an API key (POST /v1/api-keys); each route names its scope, ' +
      'and a key without it gets 403 naming the scope. ' +
      'Errors are application/problem+json (RFC 9457). Request bodies are strict: unknown fields are rejected.',
  },
  servers: [{ url: `${new URL(c.req.url).origin}/v1` }],
}));
