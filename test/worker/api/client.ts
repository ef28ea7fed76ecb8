import { SELF } from 'cloudflare:test';
import { expect } from 'vitest';

export const ORIGIN = 'http://live.test';
export const API_TOKEN = 'test-api-token';
export const INGEST_TOKEN = 'test-ingest-token';

export interface CallOptions {
  token?: string | null;
  /** Raw body; overrides `json`. */
  body?: string;
  json?: unknown;
  contentType?: string | null;
}

/** One request through the real Worker entry point, authed with the API token unless told otherwise. */
export function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers();
  const token =
    options.token === undefined ? (path.startsWith('/internal') ? INGEST_TOKEN : API_TOKEN) : options.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  let body: string | undefined = options.body;
  if (body === undefined && options.json !== undefined) body = JSON.stringify(options.json);
  const contentType =
    options.contentType === undefined
      ? body !== undefined
        ? 'application/json'
        : null
      : options.contentType;
  if (contentType !== null) headers.set('content-type', contentType);
  return SELF.fetch(`${ORIGIN}${path}`, { method, headers, body });
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: { field: string; message: string }[];
}

/** Asserts an RFC 9457 problem response and returns its body. */
export async function expectProblem(res: Response, status: number, type: string): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = JSON.parse(text) as ProblemBody;
  expect(body.type).toBe(`urn:edge-live:problem:${type}`);
  expect(body.status).toBe(status);
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.detail.length).toBeGreaterThan(0);
  expect(typeof body.instance).toBe('string');
  return body;
}

export interface StreamBody {
  id: string;
  name: string;
  /** Only in create and rotate-key responses: the registry keeps the hash alone (issue 16). */
  streamKey: string;
  backupStreamKey?: string;
  hasBackupKey: boolean;
  status: string;
  config: {
    partTarget: number;
    segmentTarget: number;
    reconnectWindow: number;
    failoverTimeout: number;
    failbackHoldOff: number;
    maxBitrate: number;
    ladder: unknown;
  };
  srtPassphrase: string | null;
  ingest: {
    rtmp?: string;
    rtmps?: string;
    srt?: string;
    backup?: { rtmp?: string; rtmps?: string; srt?: string };
  };
  playback: { hls: string; player: string; dvr?: string };
  createdAt: string;
  updatedAt: string;
}

export async function createStream(json: unknown = {}): Promise<StreamBody> {
  const res = await call('POST', '/v1/streams', { json });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as StreamBody;
}

/** What GET and list answer for a stream created as `created`: the same, with no key shown anywhere. */
export function withoutKeys(created: StreamBody): Omit<StreamBody, 'streamKey' | 'backupStreamKey'> {
  const { streamKey, backupStreamKey, ...rest } = created;
  const strip = (urls: { rtmp?: string; rtmps?: string; srt?: string }) =>
    Object.fromEntries(
      Object.entries(urls).map(([k, url]) => [
        k,
        url
          .replace(`/${streamKey}`, '')
          .replace(`/${backupStreamKey}`, '')
          .replace(/[?&]streamid=sk_[\w-]+$/, ''),
      ]),
    );
  const { backup, ...primary } = rest.ingest;
  return { ...rest, ingest: { ...strip(primary), ...(backup ? { backup: strip(backup) } : {}) } };
}
