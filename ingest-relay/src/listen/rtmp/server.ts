/**
 * RTMP and RTMPS listeners: node:net / node:tls servers that give each socket an RtmpConnection and guard
 * the process against slow or hostile peers (handshake and idle timeouts, a bounded write buffer, a write
 * stall timeout). Everything that goes wrong closes that one socket, logs why and counts it.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { IngestProtocol } from '../../../../src/contract/ingest.ts';
import { log as rootLog } from '../../log.ts';
import { connectionErrorsTotal, connectionsActive, connectionsTotal } from '../../metrics.ts';
import { RtmpConnection } from './connection.ts';
import type { PublishHub } from './hub.ts';

export interface RtmpServerOptions {
  hub: PublishHub;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** PEM certificate chain and key: serve RTMPS (RTMP over TLS) instead of RTMP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** C0+C1 and C2 must arrive within this long, ms. */
  handshakeTimeoutMs?: number;
  /** After the handshake, a connection that sends nothing for this long is closed, ms. */
  idleTimeoutMs?: number;
  /** A peer that lets this many bytes of our replies pile up unread is closed. */
  maxWriteBufferBytes?: number;
  /** A peer that reads none of our pending bytes for this long is closed, ms. */
  writeStallTimeoutMs?: number;
  /** Largest RTMP message accepted, bytes. */
  maxMessageLength?: number;
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
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const maxWriteBufferBytes = options.maxWriteBufferBytes ?? 1024 * 1024;
  const writeStallTimeoutMs = options.writeStallTimeoutMs ?? 15_000;
  /** Open sockets, each with the function that ends its session and destroys it. */
  const live = new Map<net.Socket, (reason: string) => Promise<void>>();
  let nextId = 1;

  const onSocket = (socket: net.Socket) => {
    const remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const connLog = log.child({ conn: nextId++, remote: remoteAddress });
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
        connLog.info({ reason }, 'RTMP connection closed');
      } else {
        connLog.warn({ reason, code }, 'RTMP connection closed');
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
      maxMessageLength: options.maxMessageLength,
      io: {
        send(bytes) {
          if (closing || socket.destroyed) return;
          const flushed = socket.write(bytes);
          if (socket.writableLength > maxWriteBufferBytes) {
            fail(`encoder is not reading: ${socket.writableLength} bytes unsent`, 'write-buffer', 'destroy');
          } else if (!flushed && stallTimer === undefined) {
            stallTimer = setTimeout(
              () => fail(`encoder read nothing for ${writeStallTimeoutMs} ms`, 'write-stall', 'destroy'),
              writeStallTimeoutMs,
            );
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
      fail(
        `${connection.describeIncompleteHandshake()} within ${handshakeTimeoutMs} ms`,
        'handshake-timeout',
        'destroy',
      );
    }, handshakeTimeoutMs);
    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      // A socket paused by back-pressure is quiet because of us, not the encoder.
      if (!paused && connection.handshakeDone)
        fail(`no data for ${idleTimeoutMs} ms`, 'idle-timeout', 'destroy');
    });
    socket.on('drain', () => {
      clearTimeout(stallTimer);
      stallTimer = undefined;
    });
    socket.on('data', (data: Buffer) => {
      connection.receive(data, Date.now());
      if (connection.handshakeDone) clearTimeout(handshakeTimer);
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
        if (connection.handshakeDone) {
          connLog.info({ reason }, 'RTMP connection closed by the peer');
        } else {
          connectionErrorsTotal.inc({ protocol, reason: 'handshake-truncated' });
          connLog.warn({ reason, code: 'handshake-truncated' }, 'RTMP connection closed by the peer');
        }
        void connection.disconnected(reason);
      }
    });
  };

  const server = options.tls
    ? tls.createServer(
        { cert: options.tls.cert, key: options.tls.key, handshakeTimeout: handshakeTimeoutMs },
        onSocket,
      )
    : net.createServer(onSocket);
  if (options.tls) {
    // A failed TLS handshake never reaches onSocket: log it here so a bad client is not silent.
    server.on('tlsClientError', (err, socket) => {
      log.warn({ reason: err.message, remote: socket.remoteAddress }, 'RTMPS TLS handshake failed');
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
