/**
 * HTTP client for the relay <-> Worker contract (src/contract/ingest.ts). One request per call, a timeout per
 * request, no retries (the sink decides those). Failures are typed: `WorkerRefused` (the Worker answered 4xx,
 * with its problem+json detail) or `WorkerUnavailable` (network error, timeout, 5xx): only the latter is worth
 * retrying.
 */

import type { SessionHealthReport } from '../../../src/contract/health.ts';
import {
  type AuthorizeRequest,
  type AuthorizeResponse,
  type EndSessionRequest,
  INTERNAL_PREFIX,
  InitHeaders,
  initPath,
  PartHeaders,
  type PartMeta,
  type PartUploadResponse,
  partPath,
  type StartSessionRequest,
  type StartSessionResponse,
  sessionPath,
  sfBoolean,
} from '../../../src/contract/ingest.ts';
import { type HttpAnswer, HttpConnectionPool } from './http.ts';

/** The Worker refused the request (4xx): retrying the same request cannot help. */
export class WorkerRefused extends Error {
  override readonly name = 'WorkerRefused';
  readonly status: number;
  /** problem+json `type` (e.g. `timeline-break`, `session-gone`, `unknown-key`), when the Worker sent one. */
  readonly problemType: string | undefined;
  readonly detail: string | undefined;

  constructor(status: number, problem: { type?: string; detail?: string; title?: string }, what: string) {
    super(`${what}: Worker refused with ${status}${problem.detail ? ` (${problem.detail})` : ''}`);
    this.status = status;
    this.problemType = problem.type;
    this.detail = problem.detail ?? problem.title;
  }
}

/** The Worker could not be reached, timed out or failed (5xx): worth retrying. */
export class WorkerUnavailable extends Error {
  override readonly name = 'WorkerUnavailable';
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export interface InitMeta {
  rendition: string;
  codecs: string;
  resolution?: string;
  frameRate?: number;
  /** Nominal peak bits/s of a rung (InitHeaders.bandwidth); absent for the source. */
  bandwidth?: number;
  /** The video carries A/53 captions (InitHeaders.closedCaptions); absent: unknown. */
  closedCaptions?: boolean;
  /** On the source's init: the ladder rungs this session uploads (InitHeaders.renditions). */
  renditions?: string[];
}

export interface WorkerClientOptions {
  workerUrl: string;
  ingestToken: string;
  /** Per request, milliseconds (default 10 s). */
  timeoutMs?: number;
  /**
   * Per part upload, milliseconds (default 2 s). A part is due every part target (~0.33 s) and the Worker
   * commits parts in order, so one stuck request holds back every later part: with the 10 s default the
   * playlist would stop for 10 s and the origin would count the input stale (failoverTimeout 1.5 s) and end it.
   */
  partTimeoutMs?: number;
}

/** `ingest-duration`: decimal seconds with at most 6 fractional digits. */
export function formatDuration(seconds: number): string {
  return String(Number(seconds.toFixed(6)));
}

export class WorkerClient {
  readonly #pool: HttpConnectionPool;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #partTimeoutMs: number;

  constructor(options: WorkerClientOptions) {
    this.#pool = new HttpConnectionPool(options.workerUrl.replace(/\/+$/, ''));
    this.#token = options.ingestToken;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#partTimeoutMs = options.partTimeoutMs ?? 2_000;
  }

  authorize(req: AuthorizeRequest): Promise<AuthorizeResponse> {
    return this.#json('POST', `${INTERNAL_PREFIX}/authorize`, req) as Promise<AuthorizeResponse>;
  }

  startSession(req: StartSessionRequest): Promise<StartSessionResponse> {
    return this.#json('POST', `${INTERNAL_PREFIX}/sessions`, req) as Promise<StartSessionResponse>;
  }

  async putInit(streamId: string, sessionId: string, meta: InitMeta, bytes: Uint8Array): Promise<void> {
    const headers: Record<string, string> = { [InitHeaders.codecs]: meta.codecs };
    if (meta.resolution) headers[InitHeaders.resolution] = meta.resolution;
    if (meta.frameRate) headers[InitHeaders.frameRate] = String(meta.frameRate);
    if (meta.bandwidth) headers[InitHeaders.bandwidth] = String(Math.round(meta.bandwidth));
    if (meta.closedCaptions !== undefined)
      headers[InitHeaders.closedCaptions] = sfBoolean(meta.closedCaptions);
    if (meta.renditions?.length) headers[InitHeaders.renditions] = meta.renditions.join(',');
    await this.#send('PUT', initPath(streamId, sessionId, meta.rendition), bytes, headers);
  }

  async putPart(
    streamId: string,
    sessionId: string,
    meta: PartMeta,
    bytes: Uint8Array,
  ): Promise<PartUploadResponse> {
    const headers: Record<string, string> = {
      [PartHeaders.duration]: formatDuration(meta.duration),
      [PartHeaders.independent]: sfBoolean(meta.independent),
      [PartHeaders.programDateTime]: new Date(meta.programDateTime).toISOString(),
      [PartHeaders.segmentEnd]: sfBoolean(meta.segmentEnd),
    };
    if (meta.gap) headers[PartHeaders.gap] = sfBoolean(true);
    const path = partPath(streamId, sessionId, meta.rendition, meta.msn, meta.part);
    const body = await this.#send('PUT', path, bytes, headers, this.#partTimeoutMs);
    const status = (body as { status?: unknown } | undefined)?.status;
    if (status !== 'committed' && status !== 'pending' && status !== 'duplicate') {
      throw new WorkerUnavailable(`PUT ${path}: unexpected answer ${JSON.stringify(body)}`);
    }
    return { status };
  }

  async endSession(streamId: string, sessionId: string, reason: string): Promise<void> {
    const body: EndSessionRequest = { reason };
    await this.#json('POST', `${sessionPath(streamId, sessionId)}/end`, body);
  }

  async reportHealth(streamId: string, sessionId: string, report: SessionHealthReport): Promise<void> {
    await this.#json('POST', `${sessionPath(streamId, sessionId)}/health`, report);
  }

  #json(method: string, path: string, body: unknown): Promise<unknown> {
    return this.#send(method, path, new TextEncoder().encode(JSON.stringify(body)), {
      'content-type': 'application/json',
    });
  }

  async #send(
    method: string,
    path: string,
    body: Uint8Array,
    headers: Record<string, string>,
    timeoutMs = this.#timeoutMs,
  ): Promise<unknown> {
    const what = `${method} ${path}`;
    let res: HttpAnswer;
    try {
      res = await this.#pool.send(path, {
        method,
        body,
        headers: {
          authorization: `Bearer ${this.#token}`,
          'content-type': 'application/octet-stream',
          ...headers,
        },
        timeoutMs,
      });
    } catch (err) {
      throw new WorkerUnavailable(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = res.text;
    const parsed = parseJson(text);
    if (res.status >= 500 || res.status === 429)
      throw new WorkerUnavailable(`${what}: ${res.status}`, res.status);
    if (res.status >= 400) throw new WorkerRefused(res.status, problemOf(parsed), what);
    return parsed;
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function problemOf(body: unknown): { type?: string; detail?: string; title?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const out: { type?: string; detail?: string; title?: string } = {};
  const type = str(b.type);
  const detail = str(b.detail);
  const title = str(b.title);
  if (type) out.type = type.replace(/^.*[/:]/, ''); // `urn:edge-live:problem:{type}`: keep the slug
  if (detail) out.detail = detail;
  if (title) out.title = title;
  return out;
}
