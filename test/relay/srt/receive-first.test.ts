import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ReceiveFirstTicker } from '../../../ingest-relay/src/listen/srt/receive-first.ts';

const clockUs = () => Math.round(performance.now() * 1000);
const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A receiving socket counting its datagrams, and `send(count)`, which puts them in its kernel queue. */
async function receiver(onRead: () => void) {
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
  const payload = new Uint8Array(100);
  const send = (count: number) => {
    for (let i = 0; i < count; i++) tx.send(payload, port, '127.0.0.1');
  };
  return { read: () => read, send };
}

/** A ticker fed by a receiver's reads, and the largest stall it reported to any read. */
async function tickerWithReceiver() {
  const ticker = new ReceiveFirstTicker(5, clockUs);
  let stalled = 0;
  const rx = await receiver(() => {
    ticker.noteRead();
    stalled = Math.max(stalled, ticker.stalledUs());
  });
  return { ticker, rx, stalledAtRead: () => stalled };
}

/** Busy for `ms`, as a starved or busy process: timers come due while nothing is read. */
function stall(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('ReceiveFirstTicker', () => {
  it('a plain timer ticks before the queued datagrams are read (the failure it fixes)', async () => {
    const rx = await receiver(() => undefined);
    const atTick = await new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        clearInterval(timer);
        resolve(rx.read());
      }, 5);
      rx.send(200);
      stall(30);
    });
    expect(atTick).toBe(0);
  });

  it('ticks only after every queued datagram was read, even past libuv’s 32 a turn', async () => {
    const { ticker, rx, stalledAtRead } = await tickerWithReceiver();
    const atTick = await new Promise<number>((resolve) => {
      ticker.start(() => resolve(rx.read()));
      rx.send(200);
      stall(30);
    });
    ticker.stop();
    expect(atTick).toBe(200);
    expect(ticker.deferred).toBe(1);
    // Read after a 30 ms stall of a 5 ms timer: they may have waited 30 - 2 * 5 ms or more.
    expect(stalledAtRead()).toBeGreaterThanOrEqual(19_000);
    expect(ticker.stalledUs()).toBeLessThan(10_000); // the timer has run since: no stall now
  });

  it('reports a stall that ends in the timers phase (a busy callback) to the reads after it', async () => {
    const { ticker, rx, stalledAtRead } = await tickerWithReceiver();
    let ticks = 0;
    ticker.start(() => ticks++);
    await new Promise((r) => setTimeout(r, 20));
    await new Promise<void>((resolve) => {
      setTimeout(() => {
        rx.send(50);
        stall(40); // the ticker's timer comes due meanwhile and fires next, in this same timers phase
        const before = ticks;
        const wait = setInterval(() => {
          if (ticks > before) {
            clearInterval(wait);
            resolve();
          }
        }, 1);
      }, 0);
    });
    ticker.stop();
    expect(rx.read()).toBe(50);
    expect(stalledAtRead()).toBeGreaterThanOrEqual(25_000);
  });

  it('keeps ticking at its interval when nothing arrives, and stops', async () => {
    const ticker = new ReceiveFirstTicker(5, clockUs);
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
