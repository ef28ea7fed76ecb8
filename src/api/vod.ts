/**
 * A recording's viewer routes (issue 15): VOD playlists, init and segments from the same R2 objects the live
 * event wrote (new views of the same bytes, not copies), and the MP4 downloads (src/vod/serve-mp4.ts).
 *
 *   /vod/{recordingId}/master.m3u8                              VOD multivariant
 *   /vod/{recordingId}/{rendition}/index.m3u8                   VOD media playlist
 *   /vod/{recordingId}/{rendition}/{sessionId}/init.mp4         init (EXT-X-MAP)
 *   /vod/{recordingId}/{rendition}/{sessionId}/{msn}.m4s        segment ({msn}.{part}-.m4s: from a part on)
 *   /vod/{recordingId}/download.mp4, /vod/{recordingId}/run-{n}.mp4   fragmented MP4 of the top rendition
 *   /vod/{recordingId}/clip-{clipId}.m3u8, /vod/{recordingId}/{rendition}/clip-{clipId}.m3u8   a clip's
 *
 * Every request asks the stream object whether the recording still exists (its index is the tombstone: a
 * deleted recording's rows are gone), so a deletion takes effect here at once. Responses carry a short
 * max-age (VOD_CACHE_CONTROL), which bounds how long a cache in front may still serve a deleted recording.
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { streamObject } from '../env.ts';
import { concatenatedResponse, objectResponse } from '../media/serve.ts';
import { serveMp4Run } from '../vod/serve-mp4.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError } from './errors.ts';
import { authorizeRecording, VIEWER_REFERRER_POLICY } from './playback-access.ts';

/** A minute: the bound for caches in front after a recording is deleted (README, Recordings). */
export const VOD_CACHE_CONTROL = 'public, max-age=60';
const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const RENDITION = /^[a-z0-9_-]{1,32}$/;
const SESSION = /^[A-Za-z0-9_-]{1,64}$/;
const SEGMENT_FILE = /^(\d{1,9})(?:\.(\d{1,4})-)?\.m4s$/;

export const vod = new Hono<AppEnv>();

// Players on any site load recordings (a signed stream's are refused above), as they do live playlists.
vod.use(
  '/vod/*',
  cors({ origin: '*', allowMethods: ['GET', 'HEAD'], exposeHeaders: ['content-length', 'content-range'] }),
);

type C = Context<AppEnv, '/vod/:recording/*'>;

/** The recording's stream object and event, after the access check (a recording id, or a token for it). */
async function recordingOf(c: C) {
  const grant = await authorizeRecording(c.env, c.req.raw, c.req.param('recording'), Date.now());
  c.header('referrer-policy', VIEWER_REFERRER_POLICY);
  return { stub: streamObject(c.env, grant.streamId), eventId: grant.eventId };
}

function notFound(): never {
  throw new ApiError(404, 'not-found', 'no such recording media');
}

/** `clip-{clipId}.m3u8`: a clip's playlist file (its multivariant, and its media playlist per rendition). */
const CLIP_FILE = /^clip-(cl_[a-z2-7]{16})\.m3u8$/;

vod.get('/vod/:recording/:file{(master|clip-cl_[a-z2-7]+)\\.m3u8}', async (c) => {
  const file = c.req.param('file');
  const { stub, eventId } = await recordingOf(c);
  const text = await stub.vodPlaylist(eventId, null, CLIP_FILE.exec(file)?.[1] ?? null);
  if (text === null) notFound();
  return c.body(text, 200, { 'content-type': PLAYLIST_TYPE, 'cache-control': VOD_CACHE_CONTROL });
});

vod.get('/vod/:recording/:file{(download|run-[0-9]+)\\.mp4}', async (c) => {
  const { stub, eventId } = await recordingOf(c);
  const file = c.req.param('file');
  const runs = await stub.mp4Runs(eventId);
  const index = file === 'download.mp4' ? (runs.length === 1 ? 0 : -1) : Number(file.slice(4, -4));
  const run = runs[index];
  if (!run) notFound();
  const name = `${c.req.param('recording')}${runs.length > 1 ? `-${index}` : ''}.mp4`;
  const res = await serveMp4Run(c.req.raw, c.env.MEDIA, run, name);
  res.headers.set('cache-control', VOD_CACHE_CONTROL);
  return res;
});

vod.get('/vod/:recording/:rendition/:file{(index|clip-cl_[a-z2-7]+)\\.m3u8}', async (c) => {
  const rendition = c.req.param('rendition');
  if (!RENDITION.test(rendition)) notFound();
  const { stub, eventId } = await recordingOf(c);
  const text = await stub.vodPlaylist(eventId, rendition, CLIP_FILE.exec(c.req.param('file'))?.[1] ?? null);
  if (text === null) notFound();
  return c.body(text, 200, { 'content-type': PLAYLIST_TYPE, 'cache-control': VOD_CACHE_CONTROL });
});

vod.get('/vod/:recording/:rendition/:session/:file', async (c) => {
  const { rendition, session, file } = c.req.param();
  if (!RENDITION.test(rendition) || !SESSION.test(session)) notFound();
  const { stub, eventId } = await recordingOf(c);
  const headers = { 'cache-control': VOD_CACHE_CONTROL };
  if (file === 'init.mp4') {
    const key = await stub.vodInitKey(eventId, rendition, session);
    const res = key ? await objectResponse(c.env.MEDIA, key, headers) : null;
    if (!res) notFound();
    res.headers.set('cache-control', VOD_CACHE_CONTROL);
    return res;
  }
  const m = SEGMENT_FILE.exec(file);
  if (!m) notFound();
  const found = await stub.vodSegment(eventId, rendition, session, Number(m[1]), Number(m[2] ?? 0));
  if (!found) notFound();
  const res = concatenatedResponse(c.env.MEDIA, found.keys, found.sizes, headers);
  res.headers.set('cache-control', VOD_CACHE_CONTROL);
  return res;
});
