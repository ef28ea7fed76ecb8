/**
 * Test peers for the RTMP listener: a hub that records what the listener pushes (a test double of
 * session.ts's IngestHub), an in-memory log, ffmpeg as the publisher, and a raw RTMP client for bad input.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import pino, { type Logger } from 'pino';
import type { IngestHub, PublishRequest, PublishSession } from '../../../ingest-relay/src/ingest-hub.ts';
import type { AccessUnit, DemuxEvent, TrackConfig } from '../../../ingest-relay/src/media/access-unit.ts';
import { PublishRefused, type PublishRefusedCode } from '../../../ingest-relay/src/session.ts';
import type { StreamConfig } from '../../../src/contract/ingest.ts';
import { DEFAULT_STREAM_CONFIG } from '../../../src/contract/stream-config.ts';

const config: StreamConfig = DEFAULT_STREAM_CONFIG;

export class RecordedSession implements PublishSession {
  readonly streamId: string;
  readonly sessionId: string;
  readonly config = config;
  readonly request: PublishRequest;
  readonly events: DemuxEvent[] = [];
  endReason: string | undefined;
  #drain: (() => void) | undefined;

  constructor(request: PublishRequest, n: number) {
    this.request = request;
    this.streamId = `stream-${request.streamKey}`;
    this.sessionId = `session-${n}`;
    this.highWater = Number.POSITIVE_INFINITY;
  }

  /** Units beyond which push() answers false (to exercise back-pressure). */
  highWater: number;

  push(ev: DemuxEvent): boolean {
    this.events.push(ev);
    return this.units().length < this.highWater;
  }
  onDrain(cb: () => void): void {
    this.#drain = cb;
  }
  drain(): void {
    this.#drain?.();
  }
  onFatal(_cb: (reason: string) => void): void {}
  async end(reason: string): Promise<void> {
    if (this.endReason !== undefined) throw new Error(`end called twice (${this.endReason}, then ${reason})`);
    this.endReason = reason;
  }

  configs(): TrackConfig[] {
    return this.events.flatMap((e) => (e.type === 'config' ? [e.track] : []));
  }
  units(kind?: 'video' | 'audio'): AccessUnit[] {
    return this.events.flatMap((e) =>
      e.type === 'unit' && (kind === undefined || e.unit.kind === kind) ? [e.unit] : [],
    );
  }
}

export class RecordingHub implements Pick<IngestHub, 'open'> {
  readonly sessions: RecordedSession[] = [];
  readonly refusals = new Map<string, PublishRefusedCode>();

  async open(request: PublishRequest): Promise<RecordedSession> {
    const code = this.refusals.get(request.streamKey);
    if (code !== undefined) throw new PublishRefused(code, `stream key refused (${code})`);
    const session = new RecordedSession(request, this.sessions.length + 1);
    this.sessions.push(session);
    return session;
  }

  session(streamKey: string): RecordedSession | undefined {
    return this.sessions.find((s) => s.request.streamKey === streamKey);
  }
}

export function memoryLog(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
  return { log, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface FfmpegRun {
  code: number | null;
  stderr: string;
}

export interface PublishOptions {
  seconds?: number;
  video?: string[];
  audio?: string[];
}

/** ffmpeg publishing a test pattern and a tone for `seconds` at real time. */
export function publishWithFfmpeg(url: string, opts: PublishOptions = {}): Promise<FfmpegRun> {
  return startFfmpegPublish(url, opts).result;
}

/** The same, with a handle to stop it early the way Ctrl-C does (ffmpeg then unpublishes cleanly). */
export function startFfmpegPublish(
  url: string,
  opts: PublishOptions = {},
): { result: Promise<FfmpegRun>; interrupt: () => void } {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    ...(opts.video ?? ['-c:v', 'libx264', '-g', '30', '-preset', 'veryfast', '-tune', 'zerolatency']),
    ...(opts.audio ?? ['-c:a', 'aac']),
    '-t',
    String(opts.seconds ?? 3),
    '-f',
    'flv',
    url,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const result = new Promise<FfmpegRun>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  return { result, interrupt: () => child.kill('SIGINT') };
}

/** A raw TCP peer: connect, send bytes, collect what comes back until the server closes. */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed: Promise<void>;

  private constructor(socket: net.Socket, read: boolean) {
    this.socket = socket;
    if (read) {
      socket.on('data', (d: Buffer) => {
        this.received = Buffer.concat([this.received, d]);
      });
    } else {
      socket.pause();
    }
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number, opts: { read: boolean } = { read: true }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket, opts.read)));
      socket.once('error', reject);
    });
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** C0+C1, wait for S0+S1+S2, then C2. */
  async handshake(): Promise<void> {
    const c0c1 = new Uint8Array(1537);
    c0c1[0] = 3;
    this.send(c0c1);
    await waitFor('S0+S1+S2', () => this.received.byteLength >= 3073, 5000);
    this.send(new Uint8Array(1536));
    this.received = this.received.subarray(3073);
  }
}
