/**
 * `POST /v1/streams/{id}/playback-tokens` mints a playback token with the service's own key (the registry
 * signs; the private key never leaves it), and `POST /v1/streams/{id}/revoke-tokens` refuses every token of
 * the stream issued before it, within 10 s (src/access/edge-registry.ts). `POST /v1/recordings/{id}/playback-tokens`
 * mints one for a recording of the stream: its `sub` is the recording id, it goes in /vod URLs in place of that
 * id, and the stream's revoke-tokens refuses it too. Mounted under the streams router.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PlaybackRulesSchema } from '../access/claims.ts';
import { forgetStreamAccess } from '../access/edge-registry.ts';
import { playbackTokenPaths } from '../contract/playback.ts';
import { streamObject } from '../env.ts';
import { parseRecordingId } from '../recording/ids.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { requireScope } from './middleware/scopes.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, StreamIdParams, security } from './openapi.ts';
import { RecordingParams } from './recordings.ts';
import { urlBases } from './stream-resource.ts';

export const playbackTokens = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** A day by default; at most a year. Tokens are checked on every request, so one must outlive the event. */
const DEFAULT_EXPIRES_IN = 86_400;
const MAX_EXPIRES_IN = 366 * 86_400;

const MintTokenSchema = z
  .strictObject({
    expiresIn: z
      .number()
      .int()
      .min(60)
      .max(MAX_EXPIRES_IN)
      .optional()
      .openapi({
        description:
          'Seconds until the token expires (60 to a year). Every playlist and media request checks it, so it ' +
          'must outlive the event: an expired token stops playback mid-stream.',
        default: DEFAULT_EXPIRES_IN,
      }),
    rules: PlaybackRulesSchema.optional().openapi({
      description:
        'Optional access rules: allowedOrigins (page origins; CORS reflects them), ip (the one client address), ' +
        'country (ISO 3166-1 alpha-2).',
    }),
  })
  .openapi('MintPlaybackToken');

const PlaybackTokenSchema = z
  .object({
    token: z
      .string()
      .openapi({ description: 'A JWT (RS256); it goes in viewer URLs in place of the stream id.' }),
    expiresAt: z.string().openapi({ format: 'date-time' }),
    playback: z.object({
      hls: z.string().openapi({ example: 'https://live.example.com/live/eyJhbGciOi.../master.m3u8' }),
      player: z
        .string()
        .openapi({ example: 'https://live.example.com/play/st_k5q2m7xw4a3b9cde?token=eyJ...' }),
    }),
  })
  .openapi('PlaybackToken');

const RecordingTokenSchema = z
  .object({
    token: z.string().openapi({
      description: 'A JWT (RS256) whose sub is the recording id; it goes in /vod URLs in its place.',
    }),
    expiresAt: z.string().openapi({ format: 'date-time' }),
    playback: z.object({
      hls: z.string().openapi({ example: 'https://live.example.com/vod/eyJhbGciOi.../master.m3u8' }),
      prefix: z.string().openapi({
        description:
          'Every URL of the recording (MP4 downloads, clips) with the token in place of its id: ' +
          '`{prefix}download.mp4`, `{prefix}run-{n}.mp4`, `{prefix}clip-{clipId}.m3u8`.',
        example: 'https://live.example.com/vod/eyJhbGciOi.../',
      }),
    }),
  })
  .openapi('RecordingPlaybackToken');

const RevokedTokensSchema = z
  .object({
    streamId: z.string(),
    generation: z.number().int().openapi({
      description: 'The stream token generation now in force; minted tokens carry it as the `gen` claim.',
    }),
    revokedAt: z.string().openapi({
      format: 'date-time',
      description: 'Self-signed tokens without `gen` need an `iat` at or after this to play.',
    }),
  })
  .openapi('RevokedTokens');

const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope playback:sign.'),
  404: problem('No such stream.'),
};
const scoped = { middleware: requireScope('playback:sign'), description: 'Scope: `playback:sign`.' };

const mintTokenRoute = createRoute({
  method: 'post',
  path: '/streams/{id}/playback-tokens',
  operationId: 'mintPlaybackToken',
  security,
  ...scoped,
  request: {
    params: StreamIdParams,
    body: { required: false, content: { 'application/json': { schema: MintTokenSchema } } },
  },
  responses: {
    201: json(PlaybackTokenSchema, 'A token and the URLs that play with it.'),
    422: problem('Invalid field.'),
    ...common,
  },
});

const mintRecordingTokenRoute = createRoute({
  method: 'post',
  path: '/recordings/{id}/playback-tokens',
  operationId: 'mintRecordingPlaybackToken',
  security,
  ...scoped,
  request: {
    params: RecordingParams,
    body: { required: false, content: { 'application/json': { schema: MintTokenSchema } } },
  },
  responses: {
    201: json(RecordingTokenSchema, 'A token and the URLs that play the recording with it.'),
    422: problem('Invalid field.'),
    ...common,
    404: problem('No such recording.'),
  },
});

const revokeTokensRoute = createRoute({
  method: 'post',
  path: '/streams/{id}/revoke-tokens',
  operationId: 'revokePlaybackTokens',
  security,
  ...scoped,
  request: { params: StreamIdParams },
  responses: {
    200: json(RevokedTokensSchema, 'Every token issued before now is refused everywhere within 10 s.'),
    ...common,
  },
});

const notFound = (id: string) => new ApiError(404, 'stream-not-found', `no stream with id ${id}`);

/**
 * Mints a token with the service's key for the stream (`sub` = `subject`, the stream id by default), or null
 * when the registry has no such stream. The body's fields, defaults applied.
 */
async function mint(
  c: Context<AppEnv>,
  body: z.infer<typeof MintTokenSchema> | undefined,
  streamId: string,
  subject = streamId,
): Promise<{ token: string; expiresAt: string } | null> {
  const expiresIn = body?.expiresIn ?? DEFAULT_EXPIRES_IN;
  const token = await registryStub(c.env).mintPlaybackToken({
    streamId,
    subject,
    expiresIn,
    rules: body?.rules ?? {},
  });
  if (token === null) return null;
  return { token, expiresAt: new Date((Math.floor(Date.now() / 1000) + expiresIn) * 1000).toISOString() };
}

playbackTokens.openapi(mintTokenRoute, async (c) => {
  const { id } = c.req.valid('param');
  const minted = await mint(c, c.req.valid('json'), id);
  if (minted === null) throw notFound(id);
  const origin = urlBases(c.env, c.req.url).publicOrigin;
  const paths = playbackTokenPaths(id, minted.token);
  return c.json(
    { ...minted, playback: { hls: `${origin}${paths.hls}`, player: `${origin}${paths.player}` } },
    201,
  );
});

playbackTokens.openapi(mintRecordingTokenRoute, async (c) => {
  const { id } = c.req.valid('param');
  const where = parseRecordingId(id);
  const missing = () => new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
  if (!where || !(await streamObject(c.env, where.streamId).getRecording(where.eventId))) throw missing();
  const minted = await mint(c, c.req.valid('json'), where.streamId, id);
  if (minted === null) throw missing();
  const prefix = `${urlBases(c.env, c.req.url).publicOrigin}/vod/${minted.token}/`;
  return c.json({ ...minted, playback: { hls: `${prefix}master.m3u8`, prefix } }, 201);
});

playbackTokens.openapi(revokeTokensRoute, async (c) => {
  const { id } = c.req.valid('param');
  const revoked = await registryStub(c.env).revokePlaybackTokens(id);
  if (!revoked) throw notFound(id);
  forgetStreamAccess(id);
  return c.json(
    {
      streamId: id,
      generation: revoked.generation,
      revokedAt: new Date(revoked.revokedAt * 1000).toISOString(),
    },
    200,
  );
});
