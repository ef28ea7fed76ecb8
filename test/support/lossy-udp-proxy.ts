/**
 * A UDP relay on loopback that drops a given fraction of datagrams in both directions, with a seeded PRNG
 * so a failing run can be replayed. Each client address gets its own upstream socket, so the server sees
 * one peer per client, as through a NAT. The proxy closes itself after `lifetimeMs`.
 */
import dgram from 'node:dgram';

export interface LossyProxyOptions {
  /** Where datagrams go (the server under test). */
  target: { host: string; port: number };
  /** Fraction of datagrams dropped in each direction, 0..1. */
  loss: number;
  seed: number;
  /** Hard stop, ms. */
  lifetimeMs: number;
}

export interface LossyProxy {
  readonly port: number;
  readonly stats: { forwarded: number; dropped: number };
  close(): Promise<void>;
}

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

export async function startLossyProxy(opts: LossyProxyOptions): Promise<LossyProxy> {
  const random = seededRandom(opts.seed);
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  const stats = { forwarded: 0, dropped: 0 };
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
      const sock = dgram.createSocket('udp4');
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
    clearTimeout(timer);
    for (const s of upstreams.values()) s.close();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  };
  const timer = setTimeout(() => void close(), opts.lifetimeMs);
  timer.unref();

  return { port: front.address().port, stats, close };
}
