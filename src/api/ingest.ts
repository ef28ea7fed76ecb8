/**
 * The relay's media routes (src/contract/ingest.ts), mounted at `/internal/v1` behind the INGEST_TOKEN bearer
 * check in app.ts. Bytes go to R2 first, then the stream's Durable Object records them: a part is only ever
 * advertised after its bytes can be served.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import {
  type EndSessionRequest,
  MAX_INIT_BYTES,
  MAX_PART_BYTES,
  PartHeaders,
  type PartUploadResponse,
  RENDITION_PATTERN,
} from '../contract/ingest.ts';
import { type Env, streamObject } from '../env.ts';
import { type InitInfo, InitInfoError, readInitInfo } from '../media/init-info.ts';
import { initKey, partKey } from '../media/keys.ts';
import type { InitRecord } from '../stream/model.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { HealthReportSchema } from './health-report.ts';
import { initExtras, initInfoFromHeaders, partFields } from './ingest-headers.ts';

export const ingestMedia = new Hono<AppEnv>();

const SESSION = '/streams/:streamId/sessions/:sessionId';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const INDEX_PATTERN = /^[0-9]{1,9}$/;

function ids(param: (name: string) => string | undefined): { streamId: string; sessionId: string } {
  const streamId = param('streamId') ?? '';
  const sessionId = param('sessionId') ?? '';
  if (!ID_PATTERN.test(streamId) || !ID_PATTERN.test(sessionId)) {
    throw new ApiError(400, 'bad-request', 'malformed stream or session id');
  }
  return { streamId, sessionId };
}

function renditionParam(value: string | undefined): string {
  if (!value || !RENDITION_PATTERN.test(value))
    throw new ApiError(400, 'bad-request', 'malformed rendition id');
  return value;
}

/** Reads the body, refusing more than `max` bytes before and after reading (413). */
async function boundedBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > max) throw new ApiError(413, 'too-large', `body of ${declared} bytes exceeds ${max}`);
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > max)
    throw new ApiError(413, 'too-large', `body of ${bytes.byteLength} bytes exceeds ${max}`);
  if (bytes.byteLength === 0) throw new ApiError(400, 'bad-request', 'empty body');
  return bytes;
}

ingestMedia.put(`${SESSION}/renditions/:rendition/init`, async (c) => {
  const { streamId, sessionId } = ids((n) => c.req.param(n));
  const rendition = renditionParam(c.req.param('rendition'));
  const bytes = await boundedBody(c.req.raw, MAX_INIT_BYTES);
  const header = (name: string) => c.req.header(name);
  let info: InitInfo;
  try {
    info = readInitInfo(bytes);
  } catch (err) {
    if (!(err instanceof InitInfoError)) throw err;
    // A sample entry this walker does not read: trust the relay's headers when it sent them.
    const fromHeaders = initInfoFromHeaders(header);
    if (!fromHeaders) throw new ApiError(422, 'bad-init', err.message);
    info = fromHeaders;
  }
  const init: InitRecord = { ...info, ...initExtras(header), size: bytes.byteLength };
  await c.env.MEDIA.put(initKey(streamId, sessionId, rendition), bytes, {
    httpMetadata: { contentType: 'video/mp4' },
  });
  const { credentialId, revoked } = c.get('relay');
  const result = await streamObject(c.env, streamId).putInit(sessionId, rendition, init, {
    credentialId,
    revoked,
  });
  if (result.kind === 'gone') throw new ApiError(410, 'session-gone', result.detail);
  if (result.kind === 'refused') throw new ApiError(403, 'relay-refused', result.detail);
  return c.json({ status: 'stored', codecs: init.codecs.join(',') }, 201);
});

ingestMedia.put(`${SESSION}/renditions/:rendition/parts/:msn/:part`, async (c) => {
  const { streamId, sessionId } = ids((n) => c.req.param(n));
  const rendition = renditionParam(c.req.param('rendition'));
  const msnText = c.req.param('msn');
  const partText = c.req.param('part');
  if (!INDEX_PATTERN.test(msnText) || !INDEX_PATTERN.test(partText)) {
    throw new ApiError(400, 'bad-request', 'msn and part must be non-negative integers');
  }
  const fields = partFields((name) => c.req.header(name));
  const msn = Number(msnText);
  const part = Number(partText);
  const key = partKey(streamId, sessionId, rendition, msn, part);
  let size = 0;
  let created = false;
  // Where the upload's time goes (bench/latency-breakdown.ts): the Worker's clock moves across I/O only, and
  // each of these three stages is one.
  const began = Date.now();
  let bodyRead = began;
  if (fields.gap) {
    await emptyBody(c.req.raw);
    bodyRead = Date.now();
  } else {
    const bytes = await boundedBody(c.req.raw, MAX_PART_BYTES);
    bodyRead = Date.now();
    created = await storePart(c.env, key, bytes, `${msn}.${part}`);
    size = bytes.byteLength;
  }
  const stored = Date.now();
  const result = await streamObject(c.env, streamId).addPart(
    {
      sessionId,
      rendition,
      msn,
      part,
      ...fields,
      size,
    },
    { credentialId: c.get('relay').credentialId, revoked: c.get('relay').revoked },
  );
  if (result.kind === 'rejected') {
    // Bytes this request wrote for a part the stream refused (a session that ended, a timeline break) must not
    // be served: media GETs read R2 first. A retry that is accepted later writes them again.
    if (created) await c.env.MEDIA.delete(key);
    const type =
      result.status === 410
        ? 'session-gone'
        : result.status === 409
          ? 'timeline-break'
          : result.status === 403
            ? 'relay-refused'
            : 'bad-part';
    throw new ApiError(result.status, type, result.reason);
  }
  const body: PartUploadResponse = { status: result.kind };
  // commit: the stream object records the part, and with it releases the playlist requests blocked on it.
  const committed = Date.now();
  c.header(
    'server-timing',
    `body;dur=${bodyRead - began}, r2;dur=${stored - bodyRead}, commit;dur=${committed - stored}`,
  );
  return c.json(body, result.kind === 'duplicate' ? 200 : 201);
});

/**
 * A gap part (PartHeaders.gap) has no body, and nothing is written to R2 for it: there are no bytes to keep,
 * a zero-byte object would be one more write per part of a failed rung for nothing, and with no object under
 * its key no path can ever serve a gap as an empty 200 (playback.ts answers it 404 from the part record).
 */
async function emptyBody(req: Request): Promise<void> {
  const refuse = () =>
    new ApiError(400, 'bad-request', `a part with ${PartHeaders.gap}: ?1 has an empty body`);
  if (Number(req.headers.get('content-length') ?? '0') > 0) throw refuse();
  // A chunked body declares no length: read until its end or its first byte, never more.
  const reader = req.body?.getReader();
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) return;
    if (chunk.value.byteLength > 0) {
      await reader?.cancel();
      throw refuse();
    }
  }
}

/**
 * Create-only put: bytes under a part key never change once written, so viewers may cache them forever. True
 * when this call wrote them, false when they were there already.
 */
async function storePart(env: Env, key: string, bytes: Uint8Array, name: string): Promise<boolean> {
  const stored = await env.MEDIA.put(key, bytes, {
    httpMetadata: { contentType: 'video/mp4' },
    onlyIf: { etagDoesNotMatch: '*' },
  });
  if (stored !== null) return true;
  // Already there: a retry of the same part is fine; different bytes at the same position are a conflict.
  const existing = await env.MEDIA.head(key);
  if (existing && existing.size !== bytes.byteLength) {
    throw new ApiError(409, 'conflict', `part ${name} already stored with ${existing.size} bytes`);
  }
  return false;
}

const EndSchema = z.object({ reason: z.string().max(500) }) satisfies z.ZodType<EndSessionRequest>;

ingestMedia.post(`${SESSION}/end`, async (c) => {
  const { streamId, sessionId } = ids((n) => c.req.param(n));
  const parsed = EndSchema.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) throw new ApiError(400, 'bad-request', 'body must be {"reason": string}');
  const result = await streamObject(c.env, streamId).endSession(sessionId, parsed.data.reason);
  if (result.kind === 'not-current')
    throw new ApiError(410, 'session-gone', `session ${sessionId} is not current`);
  return c.json(
    result.kind === 'ended'
      ? {
          status: 'ended',
          // Null when the other input (primary/backup) is live and took over at once.
          reconnectDeadline:
            result.reconnectDeadline === null ? null : new Date(result.reconnectDeadline).toISOString(),
        }
      : { status: 'already-ended' },
  );
});

ingestMedia.post(`${SESSION}/health`, async (c) => {
  const { streamId, sessionId } = ids((n) => c.req.param(n));
  const parsed = HealthReportSchema.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) {
    throw new ApiError(400, 'bad-request', 'invalid health report', {
      issues: parsed.error.issues.slice(0, 5),
    });
  }
  const { credentialId, revoked } = c.get('relay');
  const accepted = await streamObject(c.env, streamId).reportHealth(sessionId, parsed.data, {
    credentialId,
    revoked,
  });
  if (!accepted) throw new ApiError(410, 'session-gone', `session ${sessionId} is not publishing`);
  return c.body(null, 204);
});
