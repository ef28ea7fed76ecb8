/**
 * The lossy UDP relay itself: drops a given fraction of datagrams in both directions, with a seeded PRNG so a
 * failing run can be replayed. Each client address gets its own upstream socket, so the server sees one peer
 * per client, as through a NAT. It runs in its own process (lossy-udp-proxy.ts starts it), never in a test
 * worker: a worker busy with Playwright or module loading stalled it for up to 736 ms, which delayed every
 * datagram past a 200 ms SRT latency and overflowed its socket buffer (issue 10, item 5).
 */
import dgram from 'node:dgram';

export interface LossyRelayOptions {
  /** Where datagrams go (the server under test). */
  target: { host: string; port: number };
  /** Fraction of datagrams dropped in each direction, 0..1. */
  loss: number;
  seed: number;
}

export interface LossyRelayStats {
  forwarded: number;
  dropped: number;
}

/** Like the server's (4 MiB, capped by net.core.rmem_max): a short stall must not overflow the kernel buffer. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** mulberry32: a tiny deterministic PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const udpSocket = () =>
  dgram.createSocket({
    type: 'udp4',
    recvBufferSize: SOCKET_BUFFER_BYTES,
    sendBufferSize: SOCKET_BUFFER_BYTES,
  });

export async function runLossyRelay(
  opts: LossyRelayOptions,
): Promise<{ port: number; stats: LossyRelayStats; close(): Promise<void> }> {
  const random = seededRandom(opts.seed);
  const front = udpSocket();
  const upstreams = new Map<string, dgram.Socket>();
  const stats: LossyRelayStats = { forwarded: 0, dropped: 0 };
  let closed = false;

  const pass = (): boolean => {
    if (random() < opts.loss) {
      stats.dropped++;
      return false;
    }
    stats.forwarded++;
    return true;
  };

  front.on('message', (msg, client) => {
    const key = `${client.address}:${client.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const sock = udpSocket();
      sock.on('message', (reply) => {
        if (!closed && pass()) front.send(reply, client.port, client.address);
      });
      sock.on('error', () => undefined);
      upstreams.set(key, sock);
      up = sock;
    }
    if (pass()) up.send(msg, opts.target.port, opts.target.host);
  });

  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));

  const close = async () => {
    if (closed) return;
    closed = true;
    for (const s of upstreams.values()) s.close();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  };
  return { port: front.address().port, stats, close };
}
