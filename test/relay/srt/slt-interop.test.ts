/**
 * srt-live-transmit (libsrt's own live sender) relays a TS file to our listener, directly or through a lossy
 * UDP proxy; the TS bytes delivered to the demuxer must equal the file, byte for byte.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SrtServer, startSrtServer } from '../../../ingest-relay/src/listen/srt/server.ts';
import { startLossyProxy } from '../../support/lossy-udp-proxy.ts';
import { makeTsFile, srtLiveTransmitFile } from './peers.ts';
import { RecordingHub } from './recording-hub.ts';

const PASS = 'slt-passphrase-0123';
let dir: string;
let file: string;
let sent: Buffer;
let hub: RecordingHub;
let server: SrtServer;
const received = new Map<string, Buffer[]>();
const receivedBytes = (key: string) => (received.get(key) ?? []).reduce((n, b) => n + b.byteLength, 0);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'srt-slt-'));
  file = join(dir, 'clip.ts');
  await makeTsFile(file, 3);
  sent = await readFile(file);
  hub = new RecordingHub({ plain: null, secret: PASS, loss5: null, loss10: null });
  server = await startSrtServer({
    host: '127.0.0.1',
    port: 0,
    hub,
    onTsPayload: (key, payload) => {
      const list = received.get(key) ?? [];
      list.push(Buffer.from(payload));
      received.set(key, list);
    },
  });
}, 30_000);
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function relay(key: string, port: number, query: string) {
  const accepted = server.counters().accepted;
  const r = await srtLiveTransmitFile(file, `srt://127.0.0.1:${port}?streamid=${key}${query}`, {
    bytesPerSecond: 100_000,
    tailMs: 6000,
    timeoutMs: 18_000,
    connected: () => server.counters().accepted > accepted,
    done: () => receivedBytes(key) >= sent.byteLength,
  });
  // Wait for the SHUTDOWN that SIGTERM sends to end the session.
  for (let i = 0; i < 40 && hub.sessions.find((s) => s.streamKey === key)?.ended === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return r;
}

function expectIdentical(key: string, opts: { shutdownSeen: boolean }) {
  const got = Buffer.concat(received.get(key) ?? []);
  expect(got.byteLength).toBe(sent.byteLength);
  expect(got.equals(sent)).toBe(true);
  const session = hub.sessions.find((s) => s.streamKey === key);
  // Through the lossy proxy the caller's single SHUTDOWN may itself be dropped (then the idle timeout ends it).
  if (opts.shutdownSeen) expect(session?.ended).toBe('peer shutdown');
  expect(session?.events.some((e) => e.type === 'unit' && e.unit.kind === 'video' && e.unit.keyframe)).toBe(
    true,
  );
}

describe('SRT listener with srt-live-transmit as the caller', () => {
  it('delivers every TS byte intact', async () => {
    await relay('plain', server.port, '&latency=120');
    expectIdentical('plain', { shutdownSeen: true });
  }, 20_000);

  it('delivers every TS byte intact with a passphrase (AES-128)', async () => {
    await relay('secret', server.port, `&latency=120&passphrase=${PASS}`);
    expectIdentical('secret', { shutdownSeen: true });
    expect(server.connections().length).toBe(0);
  }, 20_000);

  it.each([
    { key: 'loss5', loss: 0.05, latency: 120, seed: 11 },
    { key: 'loss10', loss: 0.1, latency: 200, seed: 12 },
  ])(
    'repairs $loss random loss both ways (latency $latency ms): the TS arrives whole',
    async ({ key, loss, latency, seed }) => {
      const proxy = await startLossyProxy({
        target: { host: '127.0.0.1', port: server.port },
        loss,
        seed,
        lifetimeMs: 19_000,
      });
      try {
        await relay(key, proxy.port, `&latency=${latency}`);
        expect(proxy.stats.dropped).toBeGreaterThan(0);
        const srt = hub.health.get(key)?.().srt;
        expect(srt?.packetsLost).toBeGreaterThan(0);
        expect(srt?.packetsRetransmitted).toBeGreaterThanOrEqual(srt?.packetsLost ?? 0);
        expect(srt?.packetsDropped).toBe(0);
        expectIdentical(key, { shutdownSeen: false });
      } finally {
        await proxy.close();
      }
    },
    20_000,
  );
});
