import { createRoute, z } from '@hono/zod-openapi';
import {
  CONFIG_FIELDS,
  StreamConfigSchema as ConfigSchema,
  type StreamConfigField,
} from '../contract/stream-config.ts';
import { SRT_PASSPHRASE_LIMITS } from '../registry/config.ts';
import { STREAM_STATUSES } from '../registry/record.ts';
import { requireScope } from './middleware/scopes.ts';

/**
 * The developer REST API's contract (DESIGN.md "Interfaces"): zod schemas that both validate requests and
 * generate `GET /v1/openapi.json`. Request bodies are strict: an unknown field (a typo such as `partTaget`)
 * is a 422 naming the field rather than a silently ignored setting.
 */

/** A config field of a request body, from the one config schema: optional, with its description. */
function configField<K extends StreamConfigField>(
  key: K,
  withDefault: boolean,
): z.ZodOptional<(typeof CONFIG_FIELDS)[K]['schema']> {
  const f = CONFIG_FIELDS[key];
  const when = f.applies === 'event' ? ' Fixed per event: a change applies at the next event.' : '';
  const doc = { description: `${f.description}${when}`, ...(withDefault ? { default: f.default } : {}) };
  // One key's own schema: TypeScript widens CONFIG_FIELDS[key] to the union of every field's, so say which.
  return f.schema.optional().openapi(doc) as z.ZodOptional<(typeof CONFIG_FIELDS)[K]['schema']>;
}

function configFields(withDefault: boolean) {
  return {
    partTarget: configField('partTarget', withDefault),
    segmentTarget: configField('segmentTarget', withDefault),
    reconnectWindow: configField('reconnectWindow', withDefault),
    failoverTimeout: configField('failoverTimeout', withDefault),
    failbackHoldOff: configField('failbackHoldOff', withDefault),
    maxBitrate: configField('maxBitrate', withDefault),
    ladder: configField('ladder', withDefault),
    recording: configField('recording', withDefault),
    dvrWindow: configField('dvrWindow', withDefault),
    retentionDays: configField('retentionDays', withDefault),
    playbackPolicy: configField('playbackPolicy', withDefault),
  } satisfies Record<StreamConfigField, unknown>;
}

const name = z.string().max(200).openapi({ description: 'Free-form label, up to 200 characters.' });
const srtPassphrase = z
  .string()
  .min(SRT_PASSPHRASE_LIMITS.min)
  .max(SRT_PASSPHRASE_LIMITS.max)
  .openapi({ description: 'SRT encryption passphrase (10-79 characters); the encoder must use it.' });

export const CreateStreamSchema = z
  .strictObject({
    name: name.optional(),
    ...configFields(true),
    srtPassphrase: srtPassphrase.optional(),
  })
  .openapi('CreateStream');

export const UpdateStreamSchema = z
  .strictObject({
    name: name.optional(),
    ...configFields(false),
    srtPassphrase: srtPassphrase
      .nullable()
      .optional()
      .openapi({ description: 'null removes the passphrase.' }),
  })
  .openapi('UpdateStream', {
    description: 'Absent fields are kept. Config changes fixed per event apply from the next event.',
  });

export const RotateKeySchema = z
  .strictObject({
    which: z
      .enum(['primary', 'backup'])
      .optional()
      .openapi({ default: 'primary', description: 'Which key to replace.' }),
  })
  .openapi('RotateKey');

export const StreamConfigSchema = ConfigSchema.openapi('StreamConfig', {
  description: 'Seconds, except maxBitrate (bits per second, 0: no limit).',
});

export const StreamSchema = z
  .object({
    id: z.string().openapi({ example: 'st_k5q2m7xw4a3b9cde' }),
    name: z.string(),
    streamKey: z
      .string()
      .optional()
      .openapi({
        description:
          'Secret: whoever holds it can publish. Only in the create response and a primary rotate-key response: ' +
          'the service keeps only its hash, so a lost key is replaced by rotating, never shown again.',
      }),
    backupStreamKey: z
      .string()
      .optional()
      .openapi({
        description:
          'Secret key of the backup encoder: it publishes the same stream as the standby input. The origin ' +
          'publishes the primary; when it delivers no media for failoverTimeout it switches to the backup, and ' +
          'back once the primary delivered for failbackHoldOff. Shown only at create and on a backup rotate-key.',
      }),
    hasBackupKey: z.boolean().openapi({ description: 'False only on streams made before backup keys.' }),
    status: z.enum(STREAM_STATUSES as ['idle', 'live', 'ended']),
    config: StreamConfigSchema,
    srtPassphrase: z.string().nullable(),
    ingest: z
      .object({
        rtmp: z
          .string()
          .optional()
          .openapi({
            example: 'rtmp://127.0.0.1:1935/live/sk_...',
            description:
              'With the key where this response shows it (create, rotate-key); elsewhere the server URL the ' +
              'encoder appends `/{streamKey}` to (RTMP) or `?streamid={streamKey}` (SRT).',
          }),
        rtmps: z.string().optional(),
        srt: z.string().optional().openapi({
          example: 'srt://127.0.0.1:9000?streamid=sk_...',
          description: 'Without the passphrase: an encoder of a stream with srtPassphrase must add it.',
        }),
        backup: z
          .object({ rtmp: z.string().optional(), rtmps: z.string().optional(), srt: z.string().optional() })
          .optional()
          .openapi({
            description:
              'The same URLs with backupStreamKey, for a second encoder (a second uplink, to the same or ' +
              'another relay). Absent on a stream without a backup key.',
          }),
      })
      .openapi({ description: 'Publish URLs; a protocol this deployment does not offer is absent.' }),
    playback: z.object({
      hls: z.string().openapi({
        description:
          'Multivariant playlist a viewer opens. A signed stream answers it only with a playback token in place ' +
          'of the stream id (POST /streams/{id}/playback-tokens).',
      }),
      player: z
        .string()
        .openapi({ description: 'Web page that plays the stream (`?token=` for a signed one).' }),
      dvr: z
        .string()
        .optional()
        .openapi({
          description:
            'With config dvrWindow > 0: the DVR multivariant, whose media playlists hold the last dvrWindow ' +
            'seconds of the event (a sliding window, with blocking reload and delta updates). A signed stream ' +
            'plays it with a token in place of the id, as the live one.',
        }),
    }),
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Stream');

export const StreamListSchema = z
  .object({ streams: z.array(StreamSchema), nextCursor: z.string().nullable() })
  .openapi('StreamList');

export const HealthSchema = z
  .object({ streamId: z.string(), status: z.enum(STREAM_STATUSES as ['idle', 'live', 'ended']) })
  .catchall(z.unknown())
  .openapi('StreamHealth', {
    description:
      "The stream's live health, as its Durable Object reports it: the session and inputs, per-rendition " +
      'timeline, bitrate and gap parts, the relay report, `ladder` (the ABR ladder and each rung as the active ' +
      "input's relay reports them), `ignoredAudioPids`, and `monitoring` (viewer QoE, origin counts, alerts, " +
      "history, and `latency`: viewers' glass-to-glass p50/p95 against the target PART-HOLD-BACK + 0.1 s).",
  });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details.' });

export const StreamIdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'st_k5q2m7xw4a3b9cde' }),
});

export const ListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: 'limit', in: 'query' } }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: 'nextCursor of the previous page.' }),
});

/** OpenAPI response helpers, shared by every router's route definitions. */
export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const security = [{ bearerAuth: [] }];
const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope this route needs (named in the problem).'),
  413: problem('Body larger than 16 KiB.'),
};

export const createStreamRoute = createRoute({
  method: 'post',
  path: '/streams',
  operationId: 'createStream',
  security,
  middleware: requireScope('streams:write'),
  description: 'Scope: `streams:write`.',
  request: { body: { required: false, content: { 'application/json': { schema: CreateStreamSchema } } } },
  responses: {
    201: json(StreamSchema, 'Created. One of the two times a key is shown (the other: rotate-key).'),
    400: problem('Malformed JSON.'),
    415: problem('Body is not application/json.'),
    422: problem('Invalid field.'),
    ...common,
  },
});

export const listStreamsRoute = createRoute({
  method: 'get',
  path: '/streams',
  operationId: 'listStreams',
  security,
  middleware: requireScope('streams:read'),
  description: 'Scope: `streams:read`.',
  request: { query: ListQuery },
  responses: {
    200: json(StreamListSchema, 'A page, newest first.'),
    400: problem('Bad limit or cursor.'),
    ...common,
  },
});

export const getStreamRoute = createRoute({
  method: 'get',
  path: '/streams/{id}',
  operationId: 'getStream',
  security,
  middleware: requireScope('streams:read'),
  description: 'Scope: `streams:read`.',
  request: { params: StreamIdParams },
  responses: { 200: json(StreamSchema, 'The stream.'), 404: problem('No such stream.'), ...common },
});

export const updateStreamRoute = createRoute({
  method: 'patch',
  path: '/streams/{id}',
  operationId: 'updateStream',
  security,
  middleware: requireScope('streams:write'),
  description: 'Scope: `streams:write`.',
  request: {
    params: StreamIdParams,
    body: { required: true, content: { 'application/json': { schema: UpdateStreamSchema } } },
  },
  responses: {
    200: json(StreamSchema, 'The updated stream.'),
    400: problem('Malformed JSON.'),
    404: problem('No such stream.'),
    415: problem('Body is not application/json.'),
    422: problem('Invalid field.'),
    ...common,
  },
});

export const deleteStreamRoute = createRoute({
  method: 'delete',
  path: '/streams/{id}',
  operationId: 'deleteStream',
  security,
  middleware: requireScope('streams:write'),
  description: 'Scope: `streams:write`.',
  request: { params: StreamIdParams },
  responses: {
    204: { description: 'Deleted; a live session is ended.' },
    404: problem('No such stream.'),
    ...common,
  },
});

export const rotateKeyRoute = createRoute({
  method: 'post',
  path: '/streams/{id}/rotate-key',
  operationId: 'rotateStreamKey',
  security,
  middleware: requireScope('streams:write'),
  description: 'Scope: `streams:write`.',
  request: {
    params: StreamIdParams,
    body: { required: false, content: { 'application/json': { schema: RotateKeySchema } } },
  },
  responses: {
    200: json(StreamSchema, 'The stream with its new key; the old key is refused from the next publish.'),
    422: problem('Invalid field.'),
    404: problem('No such stream.'),
    ...common,
  },
});

export const streamHealthRoute = createRoute({
  method: 'get',
  path: '/streams/{id}/health',
  operationId: 'getStreamHealth',
  security,
  middleware: requireScope('streams:read'),
  description: 'Scope: `streams:read`.',
  request: { params: StreamIdParams },
  responses: { 200: json(HealthSchema, 'Live health.'), 404: problem('No such stream.'), ...common },
});
