/**
 * A fault-injecting HTTP proxy between a relay and the Worker (loopback only), for upload-fault tests. It
 * forwards every request, except that the first attempt of some part uploads is answered 503 without reaching
 * the Worker, or held past the relay's request timeout and then forwarded late (a request the relay gave up on
 * that still lands) or dropped. It records the body of the first upload of every part URL, so a test can check
 * that what viewers get is exactly what the relay first sent.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export type Fault = 'pass' | '503' | 'late' | 'drop';

export interface FaultProxyOptions {
  /** Where requests go, e.g. `http://127.0.0.1:8787`. */
  target: string;
  /** The fault for the `n`th part upload (first attempts only, counted from 0). */
  plan: (n: number) => Fault;
  /** How long `late` and `drop` hold a request, ms (past the relay's timeout). */
  holdMs: number;
}

/** A part upload path: `/internal/v1/streams/{id}/sessions/{session}/renditions/{r}/parts/{msn}/{part}`. */
const PART_PATH = /\/sessions\/([^/]+)\/renditions\/([^/]+)\/parts\/(\d+)\/(\d+)$/;

export interface PartKey {
  sessionId: string;
  rendition: string;
  msn: number;
  part: number;
}

export function parsePartPath(path: string): PartKey | null {
  const m = PART_PATH.exec(path);
  if (!m) return null;
  return { sessionId: m[1] as string, rendition: m[2] as string, msn: Number(m[3]), part: Number(m[4]) };
}

export class FaultProxy {
  readonly #server: Server;
  readonly #o: FaultProxyOptions;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Part upload path -> body of its first attempt. */
  readonly firstBodies = new Map<string, Uint8Array>();
  readonly injected: Record<Fault, number> = { pass: 0, '503': 0, late: 0, drop: 0 };
  /** Part uploads the Worker answered with something other than 2xx (e.g. a late duplicate's answer). */
  readonly workerRefusals: { path: string; status: number }[] = [];
  /** Part uploads the Worker acknowledged (2xx: committed, pending or duplicate), by path. */
  readonly acknowledged = new Set<string>();
  #parts = 0;
  url = '';

  constructor(options: FaultProxyOptions) {
    this.#o = options;
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        (answer) => {
          if (answer === null) return void res.destroy();
          res.writeHead(answer.status, answer.headers).end(Buffer.from(answer.body));
        },
        () => res.destroy(),
      );
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array } | null> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const path = req.url ?? '/';
    let fault: Fault = 'pass';
    if (req.method === 'PUT' && parsePartPath(path)) {
      if (!this.firstBodies.has(path)) {
        this.firstBodies.set(path, body);
        fault = this.#o.plan(this.#parts++);
      }
      this.injected[fault]++;
    }
    if (fault === '503') {
      const problem = JSON.stringify({ type: 'injected', title: 'injected by the fault proxy' });
      return {
        status: 503,
        headers: { 'content-type': 'application/problem+json' },
        body: new TextEncoder().encode(problem),
      };
    }
    if (fault === 'late' || fault === 'drop') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, this.#o.holdMs);
        this.#timers.add(t);
      });
      if (fault === 'drop') return null;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    }
    const res = await fetch(`${this.#o.target}${path}`, {
      method: req.method ?? 'GET',
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const answer = new Uint8Array(await res.arrayBuffer());
    if (req.method === 'PUT' && parsePartPath(path)) {
      if (res.ok) this.acknowledged.add(path);
      else this.workerRefusals.push({ path, status: res.status });
    }
    return {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' },
      body: answer,
    };
  }
}
