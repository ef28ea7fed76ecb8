/**
 * One HTTP request over node:http(s) with a keep-alive agent: the relay's upload path. node:http costs a
 * fraction of `fetch` (undici's web streams, per-request controller setup and its wasm parser were a quarter
 * of the relay's CPU in bench/relay-profile.ts), and a part upload needs none of what fetch adds.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  text: string;
}

/** Raised for anything that kept an answer from arriving: refused, reset, timed out. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The whole exchange, connect to last byte of the answer, ms. */
  timeoutMs: number;
}

/** Keep-alive agents for one base URL: uploads reuse warm connections instead of a handshake each. */
export class HttpConnectionPool {
  /** No trailing slash; paths are appended as they are, so a base path prefix is kept. */
  readonly #base: string;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(baseUrl: string, maxSockets = 64) {
    this.#base = baseUrl.replace(/\/+$/, '');
    const secure = new URL(this.#base).protocol === 'https:';
    this.#agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets })
      : new http.Agent({ keepAlive: true, maxSockets });
    this.#request = secure ? https.request : http.request;
  }

  send(path: string, req: HttpRequest): Promise<HttpAnswer> {
    const url = new URL(`${this.#base}${path}`);
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const request = this.#request(
        url,
        {
          method: req.method,
          agent: this.#agent,
          headers: { ...req.headers, 'content-length': String(req.body.byteLength) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done(() =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
            ),
          );
          res.on('error', (err) => done(() => reject(new HttpFailure(err.message))));
        },
      );
      const timer = setTimeout(() => {
        done(() => reject(new HttpFailure(`timed out after ${req.timeoutMs} ms`)));
        request.destroy();
      }, req.timeoutMs);
      request.on('error', (err) => done(() => reject(new HttpFailure(err.message))));
      request.end(req.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
