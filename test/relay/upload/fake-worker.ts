/**
 * A small Worker stand-in on 127.0.0.1 (node:http) for upload-fault tests: it speaks the ingest contract's
 * routes and commits parts in order like the StreamDO (an early part is `pending`), and its `fault` hook
 * injects 5xx answers, refusals, slow answers and answers that never come. Like the StreamDO, it numbers
 * sessions, refuses a second live session for a key (409 already-live) and starts a later session's numbering
 * after the last segment it holds (sessions.ts `nextStreamMsn`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PartHeaders, type StreamConfig } from '../../../src/contract/ingest.ts';

export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** 1 for the first request to this method+path, 2 for its first retry, ... */
  attempt: number;
}

export type Fault =
  | { kind: 'status'; status: number; type?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | undefined;

export class FakeWorker {
  readonly requests: FakeRequest[] = [];
  /** Parts in the order they were committed ("msn.part"), each once. */
  readonly committed: string[] = [];
  readonly stored = new Map<string, { bytes: number; headers: IncomingMessage['headers'] }>();
  readonly inits: FakeRequest[] = [];
  readonly health: unknown[] = [];
  /** Sessions in start order, with the reason each was ended with. */
  readonly sessions: { id: string; streamKey: string; ended: string | undefined }[] = [];
  ended: unknown;
  fault: (req: FakeRequest) => Fault = () => undefined;
  /** Every part in order; set by the test so the fake can commit in order. */
  order: string[] = [];
  #attempts = new Map<string, number>();
  #server: Server | undefined;
  #hanging: ServerResponse[] = [];

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const key = `${req.method} ${req.url}`;
    const attempt = (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, attempt);
    const r: FakeRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
      attempt,
    };
    this.requests.push(r);
    if (req.headers.authorization !== 'Bearer test-ingest-token')
      return this.#send(res, 401, { type: 'unauthorized' });
    const fault = this.fault(r);
    if (fault?.kind === 'hang') return this.#hanging.push(res);
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'status')
      return this.#send(res, fault.status, {
        type: `urn:edge-live:problem:${fault.type ?? 'x'}`,
        detail: 'injected',
      });
    this.#route(r, res);
  }

  #route(r: FakeRequest, res: ServerResponse): boolean {
    const part = /\/renditions\/([a-z0-9_-]+)\/parts\/(\d+)\/(\d+)$/.exec(r.path);
    if (r.path.endsWith('/authorize')) {
      const body = JSON.parse(r.body.toString()) as { streamKey: string };
      if (body.streamKey !== 'good-key')
        return this.#send(res, 404, { type: 'unknown-key', detail: 'no such key' });
      return this.#send(res, 200, {
        streamId: 'st_1',
        config: this.config,
        srtPassphrase: null,
        role: 'primary',
      });
    }
    if (r.path.endsWith('/sessions') && r.method === 'POST') {
      const body = JSON.parse(r.body.toString()) as { streamKey: string };
      if (body.streamKey !== 'good-key')
        return this.#send(res, 404, { type: 'unknown-key', detail: 'no such key' });
      if (this.sessions.some((s) => s.streamKey === body.streamKey && s.ended === undefined))
        return this.#send(res, 409, { type: 'already-live', detail: 'a session of this key is live' });
      const sessionId = `se_${this.sessions.length + 1}`;
      this.sessions.push({ id: sessionId, streamKey: body.streamKey, ended: undefined });
      const msns = [...this.stored.keys()].map((id) => Number(id.split('.')[0]));
      const firstMsn = msns.length > 0 ? Math.max(...msns) + 1 : 4;
      return this.#send(res, 201, {
        streamId: 'st_1',
        sessionId,
        config: this.config,
        role: 'primary',
        firstMsn,
      });
    }
    if (r.path.endsWith('/init')) {
      this.inits.push(r);
      return this.#send(res, 201, { status: 'stored' });
    }
    if (part) {
      // Source parts as "msn.part"; a ladder rung's as "rendition/msn.part".
      const id = part[1] === 'source' ? `${part[2]}.${part[3]}` : `${part[1]}/${part[2]}.${part[3]}`;
      const existing = this.stored.get(id);
      if (existing) return this.#send(res, 200, { status: 'duplicate' });
      this.stored.set(id, { bytes: r.body.byteLength, headers: r.headers });
      while (
        this.committed.length < this.order.length &&
        this.stored.has(this.order[this.committed.length]!)
      ) {
        this.committed.push(this.order[this.committed.length]!);
      }
      return this.#send(res, 201, { status: this.committed.includes(id) ? 'committed' : 'pending' });
    }
    if (r.path.endsWith('/health')) {
      this.health.push(JSON.parse(r.body.toString()));
      return this.#send(res, 204, undefined);
    }
    if (r.path.endsWith('/end')) {
      this.ended = JSON.parse(r.body.toString());
      const session = this.sessions.find((s) => r.path.includes(`/sessions/${s.id}/`));
      if (session) session.ended = (this.ended as { reason: string }).reason;
      return this.#send(res, 200, { status: 'ended' });
    }
    return this.#send(res, 404, { type: 'not-found' });
  }

  config: Partial<StreamConfig> = { partTarget: 0.333, segmentTarget: 2, reconnectWindow: 10 };

  #send(res: ServerResponse, status: number, body: unknown): boolean {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
    return true;
  }
}

export function partIndependent(h: IncomingMessage['headers']): string | undefined {
  return h[PartHeaders.independent] as string | undefined;
}
