/**
 * The SRT listener: one UDP socket, many callers, demultiplexed by destination socket id and checked against
 * the peer address (draft-sharabayko-srt-01 §3: packets to socket id 0 are handshakes). Inductions are
 * answered statelessly with a SYN cookie; a connection exists only after a valid conclusion, an authorized
 * stream key and an opened publish session. Bad datagrams are counted and ignored; other callers never notice.
 */
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { SessionHealthReport } from '../../../../src/contract/health.ts';
import type { IngestHub } from '../../ingest-hub.ts';
import { DEFAULT_LIMITS, hitLimit, LIMIT_SPECS, type RelayLimits } from '../../limits.ts';
import { log, RateLimitedLog, registerSecret } from '../../log.ts';
import { connectionErrorsTotal, connectionsActive, connectionsTotal } from '../../metrics.ts';
import { ConnectionAdmission } from '../admission.ts';
import { type ConnectionStats, SrtConnection } from './connection.ts';
import {
  acceptConclusion,
  answerInduction,
  type ConclusionRequest,
  Reject,
  readConclusion,
  rejection,
} from './handshake.ts';
import { type HandshakeCif, HandshakeType, parseHandshake, serializeHandshake } from './handshake-wire.ts';
import { ControlType, control, MAX_DATAGRAM_BYTES, parsePacket, serializePacket } from './packet.ts';
import { TsPublisher } from './publisher.ts';
import { ReceiveFirstTicker } from './receive-first.ts';
import { refusalFor } from './refusal.ts';
import {
  forgetConnection,
  NOTHING_REPORTED,
  type Reported,
  reportConnection,
  srtIgnoredPackets,
  srtRejections,
} from './srt-metrics.ts';

export interface SrtServerOptions {
  host: string;
  port: number;
  hub: IngestHub;
  /** Our receiver latency (TSBPD delay), ms; the larger of this and the caller's proposal wins. Default 120. */
  latencyMs?: number;
  /** Peer idle timeout, pending handshakes, receive buffer (limits.ts); defaults when absent. */
  limits?: Partial<RelayLimits>;
  /** Shared with the other listeners (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP); one of its own if absent. */
  admission?: ConnectionAdmission;
  /** Tests: every TS payload of a connection, in delivery order, before demux. */
  onTsPayload?: (streamKey: string, payload: Uint8Array) => void;
}

export interface SrtServerCounters {
  malformed: number;
  oversized: number;
  strangers: number;
  rejections: number;
  inductions: number;
  accepted: number;
}

export interface SrtServer {
  readonly port: number;
  /** Live connections' statistics. */
  connections(): ConnectionStats[];
  counters(): SrtServerCounters;
  close(): Promise<void>;
}

const TICK_MS = 5;
const METRICS_INTERVAL_MS = 1000;

export async function startSrtServer(opts: SrtServerOptions): Promise<SrtServer> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  const secret = randomBytes(32);
  const listenerSocketId = randomInt(1, 0x7fffffff);
  const latencyMs = opts.latencyMs ?? 120;
  const limits: RelayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const admission = opts.admission ?? new ConnectionAdmission(limits);
  const idleUs = limits.srtPeerIdleTimeoutMs * 1000;
  const bySocketId = new Map<number, SrtConnection>();
  const byPeer = new Map<string, SrtConnection>();
  /** Conclusions waiting for the Worker, each holding an admission slot. */
  const pending = new Map<string, () => void>();
  const reported = new Map<SrtConnection, Reported>();
  const counters: SrtServerCounters = {
    malformed: 0,
    oversized: 0,
    strangers: 0,
    rejections: 0,
    inductions: 0,
    accepted: 0,
  };
  const warn = new RateLimitedLog(log);
  /** Refusals are logged at most ten a second, internal errors once: a flood costs a counter, not a log. */
  const refusals = new RateLimitedLog(log, 1000, 10);
  const failures = new RateLimitedLog(log);
  const epochUs = Math.round(performance.now() * 1000);
  const nowUs = () => Math.round(performance.now() * 1000);
  // The tick runs after the socket is read, not from the timer itself: see receive-first.ts.
  const ticker = new ReceiveFirstTicker(TICK_MS, nowUs);

  const send = (bytes: Uint8Array, port: number, address: string) => {
    socket.send(bytes, port, address);
  };

  const ignore = (reason: 'malformed' | 'oversized' | 'stranger', peer: string, detail: string) => {
    if (reason === 'stranger') counters.strangers++;
    else counters[reason]++;
    srtIgnoredPackets.inc({ reason });
    warn.warn({ peer, reason, detail }, 'srt: datagram ignored');
  };

  const reject = (hs: HandshakeCif, code: number, reason: string, peer: dgram.RemoteInfo, ts: number) => {
    counters.rejections++;
    srtRejections.inc({ reason: String(code) });
    connectionErrorsTotal.inc({ protocol: 'srt', reason: `reject-${code}` });
    refusals.warn({ peer: `${peer.address}:${peer.port}`, code, reason }, 'srt: handshake refused');
    const pkt = control(ControlType.handshake, {
      destSocketId: hs.socketId,
      timestamp: ts,
      cif: serializeHandshake(rejection(hs, code, peer.address)),
    });
    send(serializePacket(pkt), peer.port, peer.address);
  };

  const conclude = async (
    hs: HandshakeCif,
    req: ConclusionRequest,
    peer: dgram.RemoteInfo,
    peerTs: number,
  ) => {
    const peerKey = `${peer.address}:${peer.port}`;
    const arrivedUs = nowUs();
    const ts = (arrivedUs - epochUs) >>> 0;
    const release = pending.get(peerKey) ?? (() => {});
    /** Once the connection exists, its close releases the admission slot. */
    let handedOver = false;
    try {
      const auth = await opts.hub.authorize(req.streamKey, 'srt');
      registerSecret(auth.srtPassphrase);
      const accepted = acceptConclusion(req, {
        passphrase: auth.srtPassphrase,
        latencyMs,
        socketId: allocateSocketId(bySocketId),
        peerAddress: peer.address,
        maxFlowWindow: limits.srtMaxBufferPackets,
      });
      if (!accepted.ok) return reject(hs, accepted.reject, accepted.reason, peer, ts);
      let live: SrtConnection | undefined;
      const session = await opts.hub.open(
        { streamKey: req.streamKey, protocol: 'srt', remoteAddress: peerKey },
        { extraHealth: () => (live ? healthOf(live.stats()) : {}) },
      );
      const response = serializePacket(
        control(ControlType.handshake, {
          destSocketId: req.callerSocketId,
          timestamp: ts,
          cif: serializeHandshake(accepted.response),
        }),
      );
      const publisher = new TsPublisher(session, (reason) => conn.close(reason, true, nowUs()));
      const conn: SrtConnection = new SrtConnection({
        socketId: accepted.response.socketId,
        peerSocketId: req.callerSocketId,
        peer: { address: peer.address, port: peer.port },
        streamId: session.streamId,
        initialSeq: req.initialSeq,
        flowWindow: Math.min(req.flowWindow, limits.srtMaxBufferPackets),
        latencyMs: accepted.latencyMs,
        keys: accepted.keys,
        passphrase: auth.srtPassphrase,
        conclusionResponse: response,
        startUs: arrivedUs,
        peerStartUs: arrivedUs - peerTs,
        sendDatagram: (bytes) => send(bytes, peer.port, peer.address),
        onPayload: (payload) => {
          opts.onTsPayload?.(req.streamKey, payload);
          publisher.push(payload, Date.now());
        },
        onClose: (reason) => {
          release();
          bySocketId.delete(conn.socketId);
          if (bySocketId.size === 0) ticker.stop();
          if (byPeer.get(peerKey) === conn) byPeer.delete(peerKey);
          connectionsActive.dec({ protocol: 'srt' });
          const stats = conn.stats();
          reportConnection(stats, reported.get(conn) ?? NOTHING_REPORTED);
          reported.delete(conn);
          forgetConnection(session.streamId);
          log.info({ peer: peerKey, streamId: session.streamId, reason, stats }, 'srt: closed');
          if (stats.overflowed > 0) {
            const limit = LIMIT_SPECS.srtMaxBufferPackets.env;
            log.warn(
              { peer: peerKey, streamId: session.streamId, overflowed: stats.overflowed, limit },
              'srt: packets beyond the receive buffer were refused',
            );
          }
          publisher.end(reason);
        },
      });
      live = conn;
      bySocketId.set(conn.socketId, conn);
      if (bySocketId.size === 1) ticker.start(tick);
      byPeer.set(peerKey, conn);
      counters.accepted++;
      connectionsTotal.inc({ protocol: 'srt' });
      connectionsActive.inc({ protocol: 'srt' });
      log.info(
        { peer: peerKey, streamId: session.streamId, latencyMs: accepted.latencyMs },
        'srt: connected',
      );
      conn.resendConclusion();
      handedOver = true;
    } catch (err) {
      const { code, reason } = refusalFor(err);
      reject(hs, code, reason, peer, ts);
    } finally {
      pending.delete(peerKey);
      if (!handedOver) release();
    }
  };

  const onHandshake = (cif: Uint8Array, peerTs: number, peer: dgram.RemoteInfo) => {
    const peerKey = `${peer.address}:${peer.port}`;
    const p = parseHandshake(cif);
    if (!p.ok) return ignore('malformed', peerKey, p.error);
    const hs = p.value;
    const ts = (nowUs() - epochUs) >>> 0;
    if (hs.handshakeType === HandshakeType.induction) {
      counters.inductions++;
      const answer = answerInduction(hs, peer, listenerSocketId, secret, Date.now());
      const pkt = control(ControlType.handshake, {
        destSocketId: hs.socketId,
        timestamp: ts,
        cif: serializeHandshake(answer),
      });
      return send(serializePacket(pkt), peer.port, peer.address);
    }
    if (hs.handshakeType !== HandshakeType.conclusion)
      return ignore('malformed', peerKey, 'unexpected handshake type');
    const existing = byPeer.get(peerKey);
    if (existing && existing.peerSocketId === hs.socketId) return existing.resendConclusion();
    if (pending.has(peerKey)) return;
    const read = readConclusion(hs, peerKey, secret, Date.now());
    // A bad cookie gets no answer: it is either stale or forged, and answering would reflect traffic.
    if (!read.ok && read.reject === Reject.rogue) return ignore('malformed', peerKey, read.reason);
    if (!read.ok) return reject(hs, read.reject, read.reason, peer, ts);
    if (pending.size >= limits.srtMaxPendingHandshakes) {
      const limit = hitLimit('srtMaxPendingHandshakes');
      return reject(hs, Reject.resource, `too many handshakes pending (${limit})`, peer, ts);
    }
    const admitted = admission.admit(peer.address);
    if (!admitted.ok) return reject(hs, Reject.resource, `${admitted.reason} (${admitted.limit})`, peer, ts);
    pending.set(peerKey, admitted.release);
    void conclude(hs, read.request, peer, peerTs);
  };

  /**
   * The datagram handler's error boundary: an error while handling one peer's packet (a relay bug) closes
   * that peer's connection, if it has one, and nothing else; the socket keeps serving every other caller.
   */
  const onDatagram = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    ticker.noteRead();
    try {
      route(msg, rinfo);
    } catch (err) {
      const peerKey = `${rinfo.address}:${rinfo.port}`;
      const conn = byPeer.get(peerKey);
      const message = err instanceof Error ? err.message : String(err);
      connectionErrorsTotal.inc({ protocol: 'srt', reason: 'internal' });
      failures.error(
        { peer: peerKey, streamId: conn?.stats().streamId, err: message, stack: (err as Error)?.stack },
        'srt: packet handling failed inside the relay; closing that connection',
      );
      conn?.close(`relay error: ${message}`, true, nowUs());
    }
  };

  const route = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const peerKey = `${rinfo.address}:${rinfo.port}`;
    if (msg.byteLength > MAX_DATAGRAM_BYTES) return ignore('oversized', peerKey, `${msg.byteLength} bytes`);
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const p = parsePacket(bytes);
    if (!p.ok) return ignore('malformed', peerKey, p.error);
    const pkt = p.value;
    if (pkt.destSocketId === 0) {
      if (pkt.kind === 'control' && pkt.type === ControlType.handshake)
        return onHandshake(pkt.cif, pkt.timestamp, rinfo);
      return ignore('stranger', peerKey, 'non-handshake packet to socket 0');
    }
    const conn = bySocketId.get(pkt.destSocketId);
    if (!conn || conn.peerKey !== peerKey)
      return ignore('stranger', peerKey, `socket id ${pkt.destSocketId}`);
    if (pkt.kind === 'control' && pkt.type === ControlType.handshake)
      return onHandshake(pkt.cif, pkt.timestamp, rinfo);
    conn.onPacket(pkt, nowUs(), ticker.stalledUs());
  };
  socket.on('message', onDatagram);
  socket.on('error', (err) => log.error({ err }, 'srt: socket error'));

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });

  /**
   * Connection timers and the metrics report, every TICK_MS while any connection is live. With none, the
   * tick does not run: 200 wake-ups a second cost an idle relay about 2 % of a core.
   */
  let ticks = 0;
  const tick = () => {
    const now = nowUs();
    const report = ++ticks % Math.round(METRICS_INTERVAL_MS / TICK_MS) === 0;
    for (const conn of [...bySocketId.values()]) {
      try {
        if (now - conn.lastHeardUs > idleUs) {
          const limit = hitLimit('srtPeerIdleTimeoutMs');
          conn.close(`peer idle timeout (${limit})`, true, now);
        } else conn.tick(now);
        if (report && !conn.closed)
          reported.set(conn, reportConnection(conn.stats(), reported.get(conn) ?? NOTHING_REPORTED));
      } catch (err) {
        // The same boundary for timer work: one connection's failure closes that connection only.
        const message = err instanceof Error ? err.message : String(err);
        connectionErrorsTotal.inc({ protocol: 'srt', reason: 'internal' });
        failures.error(
          { peer: conn.peerKey, err: message },
          'srt: timer work failed; closing that connection',
        );
        conn.close(`relay error: ${message}`, true, now);
      }
    }
  };

  return {
    port: socket.address().port,
    connections: () => [...bySocketId.values()].map((c) => c.stats()),
    counters: () => ({ ...counters }),
    close: async () => {
      ticker.stop();
      const now = nowUs();
      for (const conn of [...bySocketId.values()]) conn.close('listener closing', true, now);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** The SRT part of the session health report (src/contract/health.ts). */
function healthOf(s: ConnectionStats): Partial<SessionHealthReport> {
  return {
    ingestBitrate: s.bitrate,
    srt: {
      rttMs: s.rttUs / 1000,
      packetsReceived: s.received,
      packetsLost: s.lost,
      packetsRetransmitted: s.retransmitted,
      packetsDropped: s.dropped,
      packetsUndecryptable: s.undecryptable,
      bitrate: s.bitrate,
      latencyMs: s.latencyMs,
    },
  };
}

function allocateSocketId(taken: Map<number, unknown>): number {
  // 2^31 ids and at most a few hundred in use: a collision twice in a row is already unlikely.
  for (let attempt = 0; attempt < 64; attempt++) {
    const id = randomInt(1, 0x7fffffff);
    if (!taken.has(id)) return id;
  }
  throw new Error('no free SRT socket id');
}
