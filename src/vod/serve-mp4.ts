/**
 * An MP4 download of one run (src/recording/mp4-run.ts): the init, then every part of every session, read
 * from R2 one object after another through the Mp4Rewriter, so the file is one fragmented MP4 with continuous
 * time across reconnects and failovers. Never buffered whole: backpressure from the response paces the R2
 * reads. The rewrite keeps every byte count, so Content-Length is the init plus the parts, known up front.
 *
 * Range (RFC 9110 14): one range is served as 206. A range that starts mid-run starts reading at the part
 * that holds its first byte (bytes of that part before the range are read and dropped, at most one part);
 * the shifts of earlier sessions come from small reads of their moofs (run-timeline.ts). A strong ETag
 * lets a client resume with If-Range.
 *
 * As in src/media/serve.ts, an object that is missing or not the recorded size aborts the stream: a
 * client sees a failed download, never a corrupt file.
 */
import { ApiError } from '../api/errors.ts';
import type { Mp4Run } from '../recording/mp4-run.ts';
import { hex } from '../registry/ids.ts';
import { Mp4Error } from './boxes.ts';
import { resolveByteRange } from './byte-range.ts';
import { type InitTracks, readInitTracks } from './init-tracks.ts';
import { MissingMediaError, readRange, type StoredObject } from './moof-probe.ts';
import { PartPrefetch } from './prefetch.ts';
import { Mp4Rewriter } from './rewriter.ts';
import { primeTimeline } from './run-timeline.ts';
import { Timeline } from './timeline.ts';

interface PlacedPart extends StoredObject {
  /** Offset of the part's first byte in the file. */
  at: number;
  session: number;
  firstOfSession: boolean;
}

export async function serveMp4Run(
  request: Request,
  bucket: R2Bucket,
  run: Mp4Run,
  filename: string,
): Promise<Response> {
  const parts = placeParts(run);
  const last = parts[parts.length - 1];
  const total = last ? last.at + last.size : run.initSize;
  const headers = new Headers({
    'content-type': 'video/mp4',
    'accept-ranges': 'bytes',
    'content-disposition': contentDisposition(filename),
  });
  const etag = await runEtag(run, total);
  headers.set('etag', etag);
  // RFC 9110 13.1.5: a resumed download names the file it started; another file is sent whole.
  const ifRange = request.headers.get('if-range');
  const rangeHeader = ifRange === null || ifRange === etag ? request.headers.get('range') : null;
  const range = resolveByteRange(rangeHeader, total);
  if (range.kind === 'unsatisfiable') return rangeNotSatisfiable(request, total);
  const window =
    range.kind === 'partial' ? { from: range.first, to: range.last + 1 } : { from: 0, to: total };
  headers.set('content-length', String(window.to - window.from));
  if (range.kind === 'partial') headers.set('content-range', `bytes ${range.first}-${range.last}/${total}`);
  const status = range.kind === 'partial' ? 206 : 200;
  if (request.method === 'HEAD') return new Response(null, { status, headers });

  // The first part to read: the one holding the range's first byte (-1: the init).
  const startIndex = window.from < run.initSize ? -1 : partHolding(parts, window.from);
  const { init, tracks, timeline } = await prepare(bucket, run, parts, startIndex, window.to);
  const { readable, writable } = new FixedLengthStream(window.to - window.from);
  void pump(writable.getWriter(), bucket, { init, tracks, timeline, parts, startIndex, window });
  return new Response(readable, { status, headers });
}

/**
 * A strong validator of the run's bytes. Every key is session-unique and immutable, so the init, each
 * session's part count and last part, and the length name the file; hashing only those keeps it cheap for a
 * 6-hour run of 100,000 parts.
 */
async function runEtag(run: Mp4Run, total: number): Promise<string> {
  const identity = [
    run.initKey,
    total,
    ...run.sessions.map((s) => `${s.sessionId}:${s.parts.length}:${s.parts.at(-1)?.key}`),
  ];
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(identity.join('\n')));
  return `"${hex(new Uint8Array(digest).subarray(0, 12))}"`;
}

function placeParts(run: Mp4Run): PlacedPart[] {
  const out: PlacedPart[] = [];
  let at = run.initSize;
  run.sessions.forEach((session, s) => {
    session.parts.forEach((part, i) => {
      out.push({ key: part.key, size: part.size, at, session: s, firstOfSession: i === 0 });
      at += part.size;
    });
  });
  return out;
}

function partHolding(parts: readonly PlacedPart[], offset: number): number {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((parts[mid]?.at ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Reads the init and, for a range that starts mid-run, primes the timeline; failures here are a 500. */
async function prepare(
  bucket: R2Bucket,
  run: Mp4Run,
  parts: readonly PlacedPart[],
  startIndex: number,
  windowEnd: number,
): Promise<{ init: Uint8Array; tracks: InitTracks; timeline: Timeline }> {
  try {
    const init = await readRange(bucket, { key: run.initKey, size: run.initSize }, 0, run.initSize);
    const tracks = readInitTracks(init);
    const timeline = new Timeline(tracks);
    const start = parts[startIndex];
    if (start) {
      const next = parts.find((p) => p.session > start.session);
      await primeTimeline(bucket, tracks, timeline, run.sessions, {
        session: start.session,
        tailToo: next !== undefined && next.at < windowEnd,
      });
    }
    return { init, tracks, timeline };
  } catch (err) {
    if (err instanceof MissingMediaError) throw new ApiError(500, 'recording-media-missing', err.message);
    if (err instanceof Mp4Error) throw new ApiError(500, 'recording-media-corrupt', err.message);
    throw err;
  }
}

interface PumpPlan {
  init: Uint8Array;
  tracks: InitTracks;
  timeline: Timeline;
  parts: readonly PlacedPart[];
  startIndex: number;
  /** Byte offsets in the file: [from, to). */
  window: { from: number; to: number };
}

async function pump(writer: WritableStreamDefaultWriter, bucket: R2Bucket, plan: PumpPlan): Promise<void> {
  const { window, parts } = plan;
  /** Writes the part of `bytes` (at file offset `at`) that falls in the window. */
  const emit = async (bytes: Uint8Array, at: number) => {
    const from = Math.max(window.from, at);
    const to = Math.min(window.to, at + bytes.byteLength);
    if (from < to) await writer.write(bytes.subarray(from - at, to - at));
  };
  const first = Math.max(plan.startIndex, 0);
  const wanted = parts.slice(first).filter((p) => p.at < window.to);
  const prefetch = new PartPrefetch(
    bucket,
    wanted.map((p) => p.key),
  );
  try {
    if (plan.startIndex < 0) await emit(plan.init, 0);
    const rewriter = new Mp4Rewriter(plan.tracks, plan.timeline);
    for (const [n, part] of wanted.entries()) {
      // The range's own first part had its session begun by primeTimeline.
      if (part.firstOfSession && !(n === 0 && plan.startIndex >= 0)) rewriter.beginSession();
      const object = await prefetch.take();
      if (!object || object.size !== part.size) {
        await object?.body.cancel();
        throw new MissingMediaError(`part ${part.key} missing or changed`);
      }
      let at = part.at;
      const reader = object.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const out of rewriter.push(value)) {
          await emit(out, at);
          at += out.byteLength;
        }
        if (at >= window.to) break;
      }
      if (at >= window.to) {
        await reader.cancel();
        break;
      }
      rewriter.flush();
      if (at !== part.at + part.size) throw new MissingMediaError(`part ${part.key} ended early`);
    }
    await writer.close();
  } catch (err) {
    console.error('mp4 download aborted:', (err as Error).message);
    await writer.abort(err).catch(() => undefined);
  } finally {
    await prefetch.cancel();
  }
}

function rangeNotSatisfiable(request: Request, total: number): Response {
  const body = {
    type: 'urn:edge-live:problem:range-not-satisfiable',
    title: 'Range Not Satisfiable',
    status: 416,
    detail: `the range ${request.headers.get('range')} selects no byte of this ${total}-byte file`,
    instance: new URL(request.url).pathname,
  };
  return new Response(JSON.stringify(body), {
    status: 416,
    // RFC 9110 15.5.17: the current length, so the client can ask again.
    headers: { 'content-type': 'application/problem+json', 'content-range': `bytes */${total}` },
  });
}

/** RFC 6266: an ASCII fallback, and the exact name in filename* (RFC 8187). */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
