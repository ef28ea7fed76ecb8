/**
 * `/v1/streams/{id}/recordings`, `/v1/recordings/{id}` (issue 15): each event a recording, from the stream
 * object's index (src/recording/). A recording id names its stream and event (src/recording/ids.ts), so a GET
 * goes straight to the stream's object.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamObject } from '../env.ts';
import { parseRecordingId, recordingId } from '../recording/ids.ts';
import type { Clip, RecordingRow } from '../recording/index-store.ts';
import { clipPlaylistFile, round3 } from '../recording/vod-playlists.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { requireScope } from './middleware/scopes.ts';
import { validationHook } from './middleware/validation.ts';
import { json, problem, StreamIdParams, security } from './openapi.ts';
import { urlBases } from './stream-resource.ts';

export const recordings = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const Download = z.object({
  start: z.number().openapi({ description: 'Seconds from the recording start.' }),
  end: z.number(),
  mp4: z.string().openapi({ description: 'One fragmented MP4 of the top rendition over this run.' }),
});

const RecordingSchema = z
  .object({
    id: z.string().openapi({ example: 'rec_k5q2m7xw4a3b9cdemfrggzdfmztwq2lk' }),
    streamId: z.string(),
    eventId: z.string(),
    startedAt: z.string().openapi({ format: 'date-time' }),
    endedAt: z.string().nullable().openapi({ format: 'date-time' }),
    duration: z.number().openapi({ description: 'Seconds of the source rendition recorded.' }),
    bytes: z.number().int().openapi({ description: 'Media bytes over every rendition.' }),
    status: z.enum(['recording', 'ready']),
    playback: z.object({
      hls: z.string().nullable().openapi({ description: 'The VOD multivariant; null while recording.' }),
      mp4: z
        .string()
        .nullable()
        .openapi({
          description:
            'One MP4 of the whole recording; null while recording, or where the codec config changed ' +
            '(then `downloads` lists one file per continuous run).',
        }),
    }),
    downloads: z.array(Download),
  })
  .openapi('Recording');

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export const RecordingParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const readScope = { middleware: requireScope('recordings:read'), description: 'Scope: `recordings:read`.' };
const writeScope = {
  middleware: requireScope('recordings:write'),
  description: 'Scope: `recordings:write`.',
};
const common = {
  401: problem('Missing or wrong bearer token.'),
  403: problem('The API key lacks the scope.'),
};

const listRoute = createRoute({
  method: 'get',
  path: '/streams/{id}/recordings',
  operationId: 'listRecordings',
  security,
  ...readScope,
  request: { params: StreamIdParams, query: ListQuery },
  responses: {
    200: json(
      z.object({ recordings: z.array(RecordingSchema), nextCursor: z.string().nullable() }),
      'Newest first.',
    ),
    404: problem('No such stream.'),
    422: problem('Invalid query.'),
    ...common,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/recordings/{id}',
  operationId: 'getRecording',
  security,
  ...readScope,
  request: { params: RecordingParams },
  responses: { 200: json(RecordingSchema, 'The recording.'), 404: problem('No such recording.'), ...common },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/recordings/{id}',
  operationId: 'deleteRecording',
  security,
  ...writeScope,
  request: { params: RecordingParams },
  responses: {
    204: { description: 'Deleted: its playlists and downloads answer 404 now; its media is swept from R2.' },
    404: problem('No such recording.'),
    409: problem('The recording is still being made (its event is live).'),
    ...common,
  },
});

/** The cursor: the last row's start and event, opaque to clients. */
function encodeCursor(row: RecordingRow): string {
  return btoa(JSON.stringify([row.startedAt, row.eventId])).replace(/=+$/, '');
}

function decodeCursor(cursor: string): { startedAt: number; eventId: string } {
  try {
    const [startedAt, eventId] = JSON.parse(atob(cursor)) as [unknown, unknown];
    if (typeof startedAt === 'number' && typeof eventId === 'string') return { startedAt, eventId };
  } catch {
    // fall through
  }
  throw new ApiError(400, 'bad-cursor', 'cursor is not one this API returned');
}

async function resource(env: AppEnv['Bindings'], origin: string, streamId: string, row: RecordingRow) {
  const id = recordingId(streamId, row.eventId) ?? row.eventId;
  const ready = row.endedAt !== null;
  const runs = ready ? await streamObject(env, streamId).mp4Runs(row.eventId) : [];
  const downloads = runs.map((r, i) => ({
    start: r.start,
    end: r.end,
    mp4: `${origin}/vod/${id}/run-${i}.mp4`,
  }));
  return {
    id,
    streamId,
    eventId: row.eventId,
    startedAt: new Date(row.startedAt).toISOString(),
    endedAt: row.endedAt === null ? null : new Date(row.endedAt).toISOString(),
    duration: round3(row.duration),
    bytes: row.bytes,
    status: ready ? ('ready' as const) : ('recording' as const),
    playback: {
      hls: ready && row.multivariant ? `${origin}/vod/${id}/master.m3u8` : null,
      mp4: runs.length === 1 ? `${origin}/vod/${id}/download.mp4` : null,
    },
    downloads,
  };
}

recordings.openapi(listRoute, async (c) => {
  const { id } = c.req.valid('param');
  const { limit, cursor } = c.req.valid('query');
  if (!(await registryStub(c.env).get(id)))
    throw new ApiError(404, 'stream-not-found', `no stream with id ${id}`);
  const rows = await streamObject(c.env, id).listRecordings(limit + 1, cursor ? decodeCursor(cursor) : null);
  const page = rows.slice(0, limit);
  const origin = urlBases(c.env, c.req.url).publicOrigin;
  const last = page.at(-1);
  return c.json(
    {
      recordings: await Promise.all(page.map((row) => resource(c.env, origin, id, row))),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    },
    200,
  );
});

function located(id: string): { streamId: string; eventId: string } {
  const where = parseRecordingId(id);
  if (!where) throw new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
  return where;
}

recordings.openapi(getRoute, async (c) => {
  const { id } = c.req.valid('param');
  const { streamId, eventId } = located(id);
  const row = await streamObject(c.env, streamId).getRecording(eventId);
  if (!row) throw new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
  return c.json(await resource(c.env, urlBases(c.env, c.req.url).publicOrigin, streamId, row), 200);
});

recordings.openapi(deleteRoute, async (c) => {
  const { id } = c.req.valid('param');
  const { streamId, eventId } = located(id);
  const result = await streamObject(c.env, streamId).deleteRecording(eventId);
  if (result === 'not-found') throw new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
  if (result === 'recording') {
    throw new ApiError(
      409,
      'recording-in-progress',
      `recording ${id} is still being made: its event is live`,
    );
  }
  return c.body(null, 204);
});

const ClipSchema = z
  .object({
    id: z.string().openapi({ example: 'cl_mfrggzdfmztwq2lk' }),
    recordingId: z.string(),
    start: z
      .number()
      .openapi({ description: 'Seconds from the recording start, snapped to a segment start.' }),
    end: z.number().openapi({ description: 'Snapped to a segment end.' }),
    duration: z.number(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    playback: z.object({ hls: z.string() }),
  })
  .openapi('Clip');

const ClipBody = z
  .strictObject({
    start: z.number().min(0).openapi({ description: 'Seconds from the recording start.' }),
    end: z.number().min(0),
  })
  .openapi('CreateClip');

const ClipParams = RecordingParams.extend({
  clipId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'clipId', in: 'path' } }),
});

const createClipRoute = createRoute({
  method: 'post',
  path: '/recordings/{id}/clips',
  operationId: 'createClip',
  security,
  ...writeScope,
  request: {
    params: RecordingParams,
    body: { required: true, content: { 'application/json': { schema: ClipBody } } },
  },
  responses: {
    201: json(ClipSchema, "A VOD playlist over the recording's own objects (no media is copied)."),
    404: problem('No such recording.'),
    409: problem('The recording is still being made, or has 100 clips.'),
    422: problem('end <= start, or the span is outside the recording.'),
    ...common,
  },
});

const listClipsRoute = createRoute({
  method: 'get',
  path: '/recordings/{id}/clips',
  operationId: 'listClips',
  security,
  ...readScope,
  request: { params: RecordingParams },
  responses: {
    200: json(z.object({ clips: z.array(ClipSchema) }), 'Oldest first.'),
    404: problem('No such recording.'),
    ...common,
  },
});

const deleteClipRoute = createRoute({
  method: 'delete',
  path: '/recordings/{id}/clips/{clipId}',
  operationId: 'deleteClip',
  security,
  ...writeScope,
  request: { params: ClipParams },
  responses: {
    204: { description: 'Deleted; its playlists answer 404.' },
    404: problem('No such clip.'),
    ...common,
  },
});

function clipResource(origin: string, recording: string, clip: Clip) {
  return {
    id: clip.id,
    recordingId: recording,
    start: clip.start,
    end: clip.end,
    duration: round3(clip.end - clip.start),
    createdAt: new Date(clip.createdAt).toISOString(),
    playback: { hls: `${origin}/vod/${recording}/${clipPlaylistFile(clip.id)}` },
  };
}

recordings.openapi(createClipRoute, async (c) => {
  const { id } = c.req.valid('param');
  const { start, end } = c.req.valid('json');
  const { streamId, eventId } = located(id);
  const result = await streamObject(c.env, streamId).createClip(eventId, start, end);
  if (!result.ok) {
    switch (result.code) {
      case 'recording-not-found':
        throw new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
      case 'recording-in-progress':
        throw new ApiError(
          409,
          'recording-in-progress',
          `recording ${id} is still being made: clip it once ready`,
        );
      case 'too-many-clips':
        throw new ApiError(409, 'too-many-clips', `recording ${id} has 100 clips; delete one first`);
      case 'clip-out-of-range':
        throw new ApiError(422, 'clip-out-of-range', result.detail, {
          errors: [{ field: 'end', message: result.detail }],
        });
    }
  }
  return c.json(clipResource(urlBases(c.env, c.req.url).publicOrigin, id, result.clip), 201);
});

recordings.openapi(listClipsRoute, async (c) => {
  const { id } = c.req.valid('param');
  const { streamId, eventId } = located(id);
  const clips = await streamObject(c.env, streamId).listClips(eventId);
  if (!clips) throw new ApiError(404, 'recording-not-found', `no recording with id ${id}`);
  const origin = urlBases(c.env, c.req.url).publicOrigin;
  return c.json({ clips: clips.map((clip) => clipResource(origin, id, clip)) }, 200);
});

recordings.openapi(deleteClipRoute, async (c) => {
  const { id, clipId } = c.req.valid('param');
  const { streamId, eventId } = located(id);
  if (!(await streamObject(c.env, streamId).deleteClip(eventId, clipId))) {
    throw new ApiError(404, 'clip-not-found', `no clip ${clipId} of recording ${id}`);
  }
  return c.body(null, 204);
});
