/**
 * RTMP and RTMPS listeners: node:net / node:tls servers that give each socket an RtmpConnection and guard
 * the process against slow or hostile peers (handshake and idle timeouts, a bounded write buffer, a write
 * stall timeout). Everything that goes wrong closes that one socket, logs why and counts it.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IngestProtocol } from '../../../../src/contract/ingest.ts';
import type { IngestHub } from '../../ingest-hub.ts';
import { DEFAULT_LIMITS, hitLimit, type RelayLimits } from '../../limits.ts';
import { type Logger, RateLimitedLog, log as rootLog } from '../../log.ts';
import { connectionErrorsTotal, connectionsActive, connectionsTotal } from '../../metrics.ts';
import { ConnectionAdmission } from '../admission.ts';
import { RtmpConnection } from './connection.ts';

export interface RtmpServerOptions {
  /** Only `open`: RTMP authorizes by opening (the Worker checks the key when the session starts). */
  hub: Pick<IngestHub, 'open'>;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** PEM certificate chain and key: serve RTMPS (RTMP over TLS) instead of RTMP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Timeouts and buffer limits (limits.ts); missing fields take the documented defaults. */
  limits?: Partial<RelayLimits>;
  /** Shared with the other listeners (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP); one of its own if absent. */
  admission?: ConnectionAdmission;
  log?: Logger;
}

export interface RtmpServer {
  readonly protocol: IngestProtocol;
  readonly host: string;
  readonly port: number;
  /** Open connections now. */
  readonly connections: number;
  /** `rtmp://host:port/live` (append `/{streamKey}`). */
  readonly url: string;
  /** Stops accepting, ends every session with `reason` and closes every socket. */
  close(reason?: string): Promise<void>;
}

const GRACE_MS = 2000;

export async function startRtmpServer(options: RtmpServerOptions): Promise<RtmpServer> {
  const protocol: IngestProtocol = options.tls ? 'rtmps' : 'rtmp';
  const log = (options.log ?? rootLog).child({ protocol });
  const limits: RelayLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const admission = options.admission ?? new ConnectionAdmission(limits);
  const handshakeTimeoutMs = limits.rtmpHandshakeTimeoutMs;
  const idleTimeoutMs = limits.rtmpIdleTimeoutMs;
  const maxWriteBufferBytes = limits.rtmpMaxWriteBufferBytes;
  const writeStallTimeoutMs = limits.rtmpWriteStallTimeoutMs;
  /** Refusals and closes are logged at most ten a second over the listener, whatever the flood. */
  const refusals = new RateLimitedLog(log, 1000, 10);
  const closes = new RateLimitedLog(log, 1000, 10);
  /** Open sockets, each with the function that ends its session and destroys it. */
  const live = new Map<net.Socket, (reason: string) => Promise<void>>();
  let nextId = 1;

  /** MAX_CONNECTIONS / MAX_CONNECTIONS_PER_IP, before any byte is read (for RTMPS, before TLS). */
  const admit = (socket: net.Socket): boolean => {
    const admitted = admission.admit(socket.remoteAddress ?? '?');
    if (!admitted.ok) {
      connectionErrorsTotal.inc({ protocol, reason: 'connection-limit' });
      refusals.warn(
        { remote: socket.remoteAddress, limit: admitted.limit, reason: admitted.reason },
        'RTMP connection refused',
      );
      socket.destroy();
      return false;
    }
    socket.once('close', admitted.release);
    return true;
  };

  const onSocket = (socket: net.Socket) => {
    const remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const conn = nextId++;
    const connLog = log.child({ conn, remote: remoteAddress });
    connectionsTotal.inc({ protocol });
    connectionsActive.inc({ protocol });
    socket.setNoDelay(true);
    let closing = false;
    let paused = false;
    let stallTimer: NodeJS.Timeout | undefined;

    const fail = (reason: string, code: string | undefined, how: 'end' | 'destroy') => {
      if (closing) return;
      closing = true;
      if (code === undefined) {
        closes.info({ conn, remote: remoteAddress, reason }, 'RTMP connection closed');
      } else {
        closes.warn({ conn, remote: remoteAddress, reason, code }, 'RTMP connection closed');
        connectionErrorsTotal.inc({ protocol, reason: code });
      }
      void connection.disconnected(reason);
      if (how === 'destroy') {
        socket.destroy();
        return;
      }
      // Let the peer read our last words (a refusal's onStatus), but never wait on it for long.
      socket.end();
      setTimeout(() => socket.destroy(), GRACE_MS).unref();
    };

    const connection = new RtmpConnection({
      hub: options.hub,
      protocol,
      remoteAddress,
      log: connLog,
      limits,
      io: {
        send(bytes) {
          if (closing || socket.destroyed) return;
          const flushed = socket.write(bytes);
          if (socket.writableLength > maxWriteBufferBytes) {
            const limit = hitLimit('rtmpMaxWriteBufferBytes');
            fail(
              `encoder is not reading: ${socket.writableLength} bytes unsent (${limit})`,
              'write-buffer',
              'destroy',
            );
          } else if (!flushed && stallTimer === undefined) {
            stallTimer = setTimeout(() => {
              const limit = hitLimit('rtmpWriteStallTimeoutMs');
              fail(`encoder read nothing for ${writeStallTimeoutMs} ms (${limit})`, 'write-stall', 'destroy');
            }, writeStallTimeoutMs);
          }
        },
        close: (reason, code) => fail(reason, code, 'end'),
        pause() {
          paused = true;
          socket.pause();
        },
        resume() {
          paused = false;
          if (!closing) socket.resume();
        },
      },
    });
    live.set(socket, (reason) => {
      if (closing) return Promise.resolve();
      closing = true;
      const ended = connection.disconnected(reason);
      socket.destroy();
      return ended;
    });

    const handshakeTimer = setTimeout(() => {
      const limit = hitLimit('rtmpHandshakeTimeoutMs');
      fail(
        `${connection.describeIncompleteHandshake()} within ${handshakeTimeoutMs} ms (${limit})`,
        'handshake-timeout',
        'destroy',
      );
    }, handshakeTimeoutMs);
    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      // A socket paused by back-pressure is quiet because of us, not the encoder.
      if (!paused && connection.handshakeDone) {
        const limit = hitLimit('rtmpIdleTimeoutMs');
        fail(`no data for ${idleTimeoutMs} ms (${limit})`, 'idle-timeout', 'destroy');
      }
    });
    socket.on('drain', () => {
      clearTimeout(stallTimer);
      stallTimer = undefined;
    });
    socket.on('data', (data: Buffer) => {
      // The connection's own boundary catches its errors; this one is for the code around it.
      try {
        connection.receive(data, Date.now());
        if (connection.handshakeDone) clearTimeout(handshakeTimer);
      } catch (err) {
        connLog.error({ err: errorText(err) }, 'RTMP connection failed inside the relay');
        fail(`relay error: ${errorText(err)}`, 'internal', 'destroy');
      }
    });
    socket.on('error', (err) => connLog.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      clearTimeout(stallTimer);
      live.delete(socket);
      connectionsActive.dec({ protocol });
      if (!closing) {
        closing = true;
        const reason = connection.handshakeDone
          ? 'encoder disconnected'
          : connection.describeIncompleteHandshake();
        const fields = { conn, remote: remoteAddress, reason };
        if (connection.handshakeDone) {
          closes.info(fields, 'RTMP connection closed by the peer');
        } else {
          connectionErrorsTotal.inc({ protocol, reason: 'handshake-truncated' });
          closes.warn({ ...fields, code: 'handshake-truncated' }, 'RTMP connection closed by the peer');
        }
        void connection.disconnected(reason);
      }
    });
  };

  // Admission runs on the raw TCP socket; for RTMPS the session starts after the TLS handshake.
  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: handshakeTimeoutMs })
    : net.createServer();
  if (options.tls) {
    server.on('connection', (raw: net.Socket) => void admit(raw));
    server.on('secureConnection', onSocket);
  } else {
    server.on('connection', (socket: net.Socket) => {
      if (admit(socket)) onSocket(socket);
    });
  }
  if (options.tls) {
    // A failed TLS handshake never reaches onSocket: log it here so a bad client is not silent.
    server.on('tlsClientError', (err, socket) => {
      refusals.warn({ reason: err.message, remote: socket.remoteAddress }, 'RTMPS TLS handshake failed');
      connectionErrorsTotal.inc({ protocol, reason: 'tls' });
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `${protocol}://${options.host}:${port}/live`;
  log.info({ url }, `${protocol.toUpperCase()} listening`);

  return {
    protocol,
    host: options.host,
    port,
    url,
    get connections() {
      return live.size;
    },
    async close(reason = 'relay shutting down') {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...live.values()].map((end) => end(reason)));
      await closed;
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
