// Starts the whole local stack as child processes: the Worker under `wrangler dev` (local R2 and Durable
// Objects persisted under a folder) and the ingest relay. Used by `npm start`, the end-to-end tests and the
// benchmarks, so all three run the same thing.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface StackOptions {
  root: string;
  apiToken: string;
  ingestToken: string;
  /**
   * Seals SRT passphrases and webhook secrets at rest (src/registry/secrets.ts). npm start keeps one in
   * .dev.vars; tests and benchmarks, whose state is thrown away, get a fresh random one when absent.
   */
  secretsKey?: string;
  /** Worker HTTP port (0: pick a free one). */
  port: number;
  rtmpPort: number;
  rtmpsPort: number;
  srtPort: number;
  metricsPort: number;
  /** RTMPS certificate and key files; RTMPS is off without them. */
  tls?: { cert: string; key: string };
  /** Where wrangler keeps local R2 and Durable Object state. */
  persistTo: string;
  /** Extra environment for the relay (e.g. LOG_LEVEL). */
  relayEnv?: Record<string, string>;
  /** Start the relay too (default true); the Worker-only benchmarks turn it off. */
  withRelay?: boolean;
  /** Pipe child output here (npm start: the terminal; tests: a log file or nowhere). */
  output: 'inherit' | 'ignore' | ((line: string, from: 'worker' | 'relay') => void);
}

export interface Stack {
  workerUrl: string;
  rtmpUrl: string;
  rtmpsUrl: string | null;
  srtUrl: string;
  metricsUrl: string;
  apiToken: string;
  ingestToken: string;
  ports: { worker: number; rtmp: number; rtmps: number; srt: number; metrics: number };
  worker: ChildProcess;
  relay: ChildProcess;
  /** Starts the Worker again (after `stopWorker`): same port, same persisted R2 and Durable Object state. */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** Starts the relay again (after `stopRelay`), same ports. */
  startRelay(): Promise<void>;
  stopRelay(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

function pipe(child: ChildProcess, from: 'worker' | 'relay', output: StackOptions['output']) {
  if (typeof output !== 'function') return;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buf += chunk;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        output(buf.slice(0, i), from);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const ports = {
    worker: opts.port || (await freePort()),
    rtmp: opts.rtmpPort || (await freePort()),
    rtmps: opts.rtmpsPort || (await freePort()),
    srt: opts.srtPort || (await freePort()),
    metrics: opts.metricsPort || (await freePort()),
  };
  const workerUrl = `http://127.0.0.1:${ports.worker}`;
  const rtmpBase = `rtmp://127.0.0.1:${ports.rtmp}/live`;
  const rtmpsBase = opts.tls ? `rtmps://127.0.0.1:${ports.rtmps}/live` : '';
  const srtBase = `srt://127.0.0.1:${ports.srt}`;
  const stdio = opts.output === 'inherit' ? 'inherit' : opts.output === 'ignore' ? 'ignore' : 'pipe';
  // Kept for the stack's life: a restarted Worker (startWorker again) must open what the first one sealed.
  const secretsKey = opts.secretsKey ?? randomBytes(32).toString('base64url');

  // Run wrangler's entry with this very Node (24, from the node devDependency), whatever PATH says.
  let worker: ChildProcess | undefined;
  const inspectorPort = await freePort();
  const startWorker = async () => {
    worker = spawn(
      process.execPath,
      [
        join(opts.root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(ports.worker),
        '--inspector-port',
        String(inspectorPort),
        '--persist-to',
        opts.persistTo,
        '--show-interactive-dev-session=false',
        '--log-level',
        'warn',
        '--var',
        `API_TOKEN:${opts.apiToken}`,
        '--var',
        `INGEST_TOKEN:${opts.ingestToken}`,
        '--var',
        `SECRETS_KEY:${secretsKey}`,
        '--var',
        `RTMP_INGEST_URL:${rtmpBase}`,
        '--var',
        `RTMPS_INGEST_URL:${rtmpsBase}`,
        '--var',
        `SRT_INGEST_URL:${srtBase}`,
        // Every stack this starts is a local one (npm start, e2e tests, benchmarks): dev mode, as .dev.vars
        // says, even where no .dev.vars was written (src/env.ts DEV_MODE).
        '--var',
        'DEV_MODE:1',
      ],
      {
        cwd: opts.root,
        stdio: ['ignore', stdio, stdio],
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      },
    );
    pipe(worker, 'worker', opts.output);
    await waitFor('wrangler dev', async () => (await fetch(`${workerUrl}/healthz`)).ok, 90_000, worker);
  };
  // SIGTERM: wrangler shuts its workerd down with it (a SIGKILL would leave workerd holding the port).
  const stopWorker = () => (worker ? stopChild(worker, 'SIGTERM', 15_000) : Promise.resolve());
  await startWorker();

  const relayEnv = {
    ...process.env,
    WORKER_URL: workerUrl,
    INGEST_TOKEN: opts.ingestToken,
    HOST: '127.0.0.1',
    RTMP_PORT: String(ports.rtmp),
    RTMPS_PORT: String(ports.rtmps),
    SRT_PORT: String(ports.srt),
    METRICS_PORT: String(ports.metrics),
    ...(opts.tls ? { RTMPS_CERT: opts.tls.cert, RTMPS_KEY: opts.tls.key } : {}),
    ...opts.relayEnv,
  };
  let relay: ChildProcess | undefined;
  const startRelay = async () => {
    relay = spawn(process.execPath, [join(opts.root, 'ingest-relay', 'src', 'main.ts')], {
      cwd: opts.root,
      stdio: ['ignore', stdio, stdio],
      env: relayEnv,
    });
    pipe(relay, 'relay', opts.output);
    const metricsUrl = `http://127.0.0.1:${ports.metrics}/healthz`;
    await waitFor('ingest relay', async () => (await fetch(metricsUrl)).ok, 30_000, relay);
  };
  try {
    if (opts.withRelay !== false) await startRelay();
  } catch (err) {
    await stopWorker();
    throw err;
  }

  const stack: Stack = {
    workerUrl,
    rtmpUrl: rtmpBase,
    rtmpsUrl: rtmpsBase || null,
    srtUrl: srtBase,
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    apiToken: opts.apiToken,
    ingestToken: opts.ingestToken,
    ports,
    get worker() {
      if (!worker) throw new Error('the Worker is not running');
      return worker;
    },
    startWorker,
    stopWorker,
    get relay() {
      if (!relay) throw new Error('the relay is not running');
      return relay;
    },
    startRelay,
    stopRelay: (signal) => (relay ? stopChild(relay, signal) : Promise.resolve()),
    stop: async () => {
      if (relay) await stopChild(relay);
      await stopWorker();
    },
  };
  return stack;
}
