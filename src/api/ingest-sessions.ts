import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type {
  AuthorizeResponse,
  IngestProtocol,
  StartSessionRequest,
  StartSessionResponse,
} from '../contract/ingest.ts';
import { streamObject } from '../env.ts';
import { generateEventId, generateSessionId, hashStreamKey, STREAM_KEY_PATTERN } from '../registry/ids.ts';
import type { KeyLookup } from '../registry/record.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { limitBody } from './middleware/body-limit.ts';
import { validationHook } from './middleware/validation.ts';

/**
 * The relay's session routes (src/contract/ingest.ts steps 1 and 2), mounted at `/internal/v1`; app.ts
 * authenticates the relay (INGEST_TOKEN or an issued relay credential, middleware/relay-auth.ts). Bodies are parsed leniently (unknown fields stripped) so a newer relay can
 * add fields without breaking an older Worker.
 */
export const ingestSessions = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const protocol = z.enum(['rtmp', 'rtmps', 'srt'] satisfies IngestProtocol[]);
const streamKey = z.string().min(1).max(256);

const AuthorizeSchema = z.object({ streamKey, protocol });
const StartSessionSchema = z.object({
  streamKey,
  protocol,
  remoteAddress: z.string().max(256),
  relayId: z.string().min(1).max(256),
}) satisfies z.ZodType<StartSessionRequest>;

const body = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

// Both bodies are a few hundred bytes; the media routes under the same prefix have their own limits.
ingestSessions.use('/authorize', limitBody());
ingestSessions.use('/sessions', limitBody());

const authorizeRoute = createRoute({
  method: 'post',
  path: '/authorize',
  request: { body: body(AuthorizeSchema) },
  responses: { 200: { description: 'The key publishes to this stream.' } },
});

const startSessionRoute = createRoute({
  method: 'post',
  path: '/sessions',
  request: { body: body(StartSessionSchema) },
  responses: { 201: { description: 'A publishing session has begun.' } },
});

/**
 * Every refusal gets the same answer, whether the key is malformed, never existed or was rotated away, so the
 * relay (and anyone probing through it) learns nothing about which keys once existed.
 */
async function lookupStreamKey(env: AppEnv['Bindings'], key: string): Promise<KeyLookup> {
  const found = STREAM_KEY_PATTERN.test(key)
    ? await registryStub(env).lookupKey(await hashStreamKey(key))
    : null;
  if (!found) throw new ApiError(404, 'unknown-stream-key', 'no stream has this stream key');
  return found;
}

ingestSessions.openapi(authorizeRoute, async (c) => {
  const { streamKey } = c.req.valid('json');
  const found = await lookupStreamKey(c.env, streamKey);
  const answer: AuthorizeResponse = {
    streamId: found.streamId,
    config: found.config,
    srtPassphrase: found.srtPassphrase,
    role: found.role,
  };
  return c.json(answer, 200);
});

ingestSessions.openapi(startSessionRoute, async (c) => {
  const request = c.req.valid('json');
  const found = await lookupStreamKey(c.env, request.streamKey);
  // An issued credential names the relay; only the shared INGEST_TOKEN falls back to the relay's own word.
  const caller = c.get('relay');
  // The class of the retention in force now: retentionDays applies at once, so a session joining a live event
  // takes today's, not the event's (src/media/keys.ts).
  const sessionId = generateSessionId(found.config.retentionDays);
  const stub = streamObject(c.env, found.streamId);
  const started = await stub.startSession({
    streamId: found.streamId,
    sessionId,
    eventId: generateEventId(),
    config: found.config,
    protocol: request.protocol,
    remoteAddress: request.remoteAddress,
    relayId: caller.credentialId ?? request.relayId,
    relayCredential: caller.credentialId,
    role: found.role,
  });
  if (!started.ok) throw new ApiError(409, 'already-live', started.detail);
  const answer: StartSessionResponse = {
    streamId: found.streamId,
    sessionId,
    eventId: started.eventId,
    // The event's config (a backup or reconnect joining a live event gets the one the event started with).
    config: started.config,
    role: found.role,
    firstMsn: started.firstMsn,
  };
  return c.json(answer, 201);
});
