// A rig for relay-only benchmarks: the relay as a process, uploading to a sink that speaks the Worker's ingest
// contract (src/contract/ingest.ts) on 127.0.0.1 and keeps every part's arrival, so workerd's CPU stays out of
// the relay's figures. Used by relay-capacity and hostile-clients.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../scripts/stack.ts';
import type { SessionHealthReport } from '../src/contract/health.ts';
import type { StartSessionResponse, StreamConfig } from '../src/contract/ingest.ts';
import { DEFAULT_STREAM_CONFIG } from '../src/contract/stream-config.ts';
import { ROOT } from './lib.ts';

export const SINK_TOKEN = 'bench-sink-token';
/**
 * The relay benches' source, made once by ffmpeg: `seconds` of 1280x720@30 H.264 3 Mb/s (1 s GOP) and AAC
 * 128 kb/s, as FLV or MPEG-TS by the file's extension. Publishers replay it with `-c copy`.
 */
export function makeBenchInput(path: string, seconds: number): void {
  const made = spawnSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=48000'],
    ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-pix_fmt', 'yuv420p'],
    ...['-b:v', '3000k', '-maxrate', '3000k', '-bufsize', '1500k', '-c:a', 'aac', '-b:a', '128k', path],
  ]);
  if (made.status !== 0) throw new Error(`making the input failed: ${made.stderr}`);
}

/** One publishing session as the sink saw it. */
export interface SinkSession {
  streamKey: string;
  sessionId: string;
  /** "msn.part" in arrival order (each once; duplicates counted apart). */
  parts: string[];
  duplicates: number;
  /** Arrival wall clock (ms) of each part, parallel to `parts`. */
  arrivals: number[];
  health: SessionHealthReport[];
  ended: string | undefined;
  /**
   * Parts of the ladder's rungs: rendition -> "msn.part" -> arrival wall clock (ms), whether a gap, and its
   * duration (seconds, `ingest-duration`).
   */
  rungs: Map<string, Map<string, { at: number; gap: boolean; duration: number }>>;
}

const CONFIG: StreamConfig = { ...DEFAULT_STREAM_CONFIG, reconnectWindow: 5, ladder: 'passthrough' };

/**
 * The Worker's ingest routes, answered at once; every stream key starting with `bench` is authorized. Streams
 * are passed through unless `config` asks for a ladder.
 */
export class SinkWorker {
  readonly sessions: SinkSession[] = [];
  readonly #config: StreamConfig;
  #server: Server | undefined;
  url = '';

  constructor(config: Partial<StreamConfig> = {}) {
    this.#config = { ...CONFIG, ...config };
  }

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  /** Parts that should exist but never arrived, over every session: holes in each session's numbering. */
  missingParts(): number {
    let missing = 0;
    for (const s of this.sessions) {
      const byMsn = new Map<number, Set<number>>();
      for (const id of s.parts) {
        const [msn, part] = id.split('.').map(Number) as [number, number];
        if (!byMsn.has(msn)) byMsn.set(msn, new Set());
        byMsn.get(msn)!.add(part);
      }
      const msns = [...byMsn.keys()].sort((a, b) => a - b);
      for (let m = msns[0] ?? 0; m <= (msns.at(-1) ?? -1); m++) {
        const parts = byMsn.get(m);
        if (!parts) {
          missing++; // a whole segment (at least one part)
          continue;
        }
        const top = Math.max(...parts);
        for (let p = 0; p <= top; p++) if (!parts.has(p)) missing++;
      }
    }
    return missing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.headers.authorization !== `Bearer ${SINK_TOKEN}`) return send(res, 401, { type: 'unauthorized' });
    const path = req.url ?? '';
    const session = this.sessions.find((s) => path.includes(`/sessions/${s.sessionId}/`));
    if (path.endsWith('/authorize') || (path.endsWith('/sessions') && req.method === 'POST')) {
      const { streamKey } = JSON.parse(body.toString()) as { streamKey: string };
      if (!streamKey.startsWith('bench')) return send(res, 404, { type: 'unknown-stream-key', detail: 'no' });
      const streamId = `st_${streamKey.replace(/[^a-z0-9]/gi, '')}`;
      if (path.endsWith('/authorize'))
        return send(res, 200, { streamId, config: this.#config, srtPassphrase: null, role: 'primary' });
      const sessionId = `se_${this.sessions.length + 1}`;
      this.sessions.push({
        streamKey,
        sessionId,
        parts: [],
        duplicates: 0,
        arrivals: [],
        health: [],
        ended: undefined,
        rungs: new Map(),
      });
      const answer: StartSessionResponse = {
        streamId,
        sessionId,
        eventId: 'ev_bench',
        config: this.#config,
        role: 'primary',
        firstMsn: 0,
      };
      return send(res, 201, answer);
    }
    if (!session) return send(res, 404, { type: 'not-found' });
    const part = /\/renditions\/([^/]+)\/parts\/(\d+)\/(\d+)$/.exec(path);
    if (part && part[1] !== 'source') {
      const rendition = part[1] as string;
      if (!session.rungs.has(rendition)) session.rungs.set(rendition, new Map());
      session.rungs.get(rendition)?.set(`${part[2]}.${part[3]}`, {
        at: Date.now(),
        gap: req.headers['ingest-gap'] === '?1',
        duration: Number(req.headers['ingest-duration'] ?? 0),
      });
      return send(res, 201, { status: 'committed' });
    }
    if (part) {
      const id = `${part[2]}.${part[3]}`;
      if (session.parts.includes(id)) {
        session.duplicates++;
        return send(res, 200, { status: 'duplicate' });
      }
      session.parts.push(id);
      session.arrivals.push(Date.now());
      return send(res, 201, { status: 'committed' });
    }
    if (path.endsWith('/init')) return send(res, 201, { status: 'stored' });
    if (path.endsWith('/health')) {
      session.health.push(JSON.parse(body.toString()) as SessionHealthReport);
      return send(res, 204, undefined);
    }
    if (path.endsWith('/end')) {
      session.ended = (JSON.parse(body.toString()) as { reason: string }).reason;
      return send(res, 200, { status: 'ended' });
    }
    return send(res, 404, { type: 'not-found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) return void res.writeHead(status).end();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export interface RelayProcess {
  child: ChildProcess;
  pid: number;
  rtmpUrl: string;
  srtPort: number;
  metricsUrl: string;
  /** Every stdout line so far. */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * The relay (`ingest-relay/src/main.ts`) on free ports, uploading to `workerUrl`. `openFiles` raises
 * `ulimit -n` for it (through sh) so that a bench can open thousands of sockets.
 */
export async function startRelayProcess(
  workerUrl: string,
  opts: { env?: Record<string, string>; openFiles?: number; nodeArgs?: string[] } = {},
): Promise<RelayProcess> {
  const ports = { rtmp: await freePort(), srt: await freePort(), metrics: await freePort() };
  const main = join(ROOT, 'ingest-relay', 'src', 'main.ts');
  const node = [process.execPath, ...(opts.nodeArgs ?? []), main].map((a) => `'${a}'`).join(' ');
  const command = opts.openFiles ? `ulimit -n ${opts.openFiles} && exec ${node}` : `exec ${node}`;
  const child = spawn('sh', ['-c', command], {
    env: {
      ...process.env,
      WORKER_URL: workerUrl,
      INGEST_TOKEN: SINK_TOKEN,
      HOST: '127.0.0.1',
      RTMP_PORT: String(ports.rtmp),
      SRT_PORT: String(ports.srt),
      METRICS_PORT: String(ports.metrics),
      RELAY_ID: 'bench-relay',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    const all = partial + d;
    const cut = all.lastIndexOf('\n');
    partial = all.slice(cut + 1);
    if (cut >= 0) lines.push(...all.slice(0, cut).split('\n'));
  });
  // /healthz answers once every listener is up (main.ts starts the metrics port last).
  const deadline = Date.now() + 20_000;
  const healthz = `http://127.0.0.1:${ports.metrics}/healthz`;
  while (
    !(await fetch(healthz).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the relay did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid as number,
    rtmpUrl: `rtmp://127.0.0.1:${ports.rtmp}/live`,
    srtPort: ports.srt,
    metricsUrl: `http://127.0.0.1:${ports.metrics}`,
    lines,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Kills a child and waits for it to go. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await done;
}
