import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ReceiveFirstTicker } from '../../../ingest-relay/src/listen/srt/receive-first.ts';

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A receiving socket counting its datagrams, and a sender that has put `count` of them in its kernel queue. */
async function queued(count: number, onRead: () => void) {
  const rx = dgram.createSocket('udp4');
  const tx = dgram.createSocket('udp4');
  sockets.push(rx, tx);
  let read = 0;
  rx.on('message', () => {
    read++;
    onRead();
  });
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const port = rx.address().port;
  // Stall the loop while sending, as a starved process would be: the datagrams wait in the kernel buffer.
  const payload = new Uint8Array(100);
  const sent = Array.from(
    { length: count },
    () => new Promise<void>((r) => tx.send(payload, port, '127.0.0.1', () => r())),
  );
  return { read: () => read, sent: Promise.all(sent) };
}

function stall(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the timers come due while nothing is read
  }
}

describe('ReceiveFirstTicker', () => {
  it('a plain timer ticks before the queued datagrams are read (the failure it fixes)', async () => {
    let ticker: ((n: number) => void) | undefined;
    const seen = new Promise<number>((r) => {
      ticker = r;
    });
    const q = await queued(200, () => undefined);
    await q.sent;
    const timer = setInterval(() => ticker?.(q.read()), 5);
    stall(30);
    const atTick = await seen;
    clearInterval(timer);
    expect(atTick).toBe(0);
  });

  it('ticks only after every queued datagram was read, even past libuv’s 32 a turn', async () => {
    const ticker = new ReceiveFirstTicker(5);
    const q = await queued(200, () => ticker.noteRead());
    await q.sent;
    const seen = new Promise<number>((r) => ticker.start(() => r(q.read())));
    stall(30);
    const atTick = await seen;
    ticker.stop();
    expect(atTick).toBe(200);
    expect(ticker.deferred).toBe(1);
  });

  it('keeps ticking at its interval when nothing arrives, and stops', async () => {
    const ticker = new ReceiveFirstTicker(5);
    let ticks = 0;
    ticker.start(() => ticks++);
    await new Promise((r) => setTimeout(r, 60));
    ticker.stop();
    const after = ticks;
    await new Promise((r) => setTimeout(r, 30));
    expect(after).toBeGreaterThanOrEqual(4);
    expect(ticks).toBe(after);
  });
});
