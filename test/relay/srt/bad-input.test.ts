/**
 * Hostile and broken datagrams against a live listener: malformed and truncated packets, forged cookies, an
 * induction flood, oversized datagrams and packets from a stranger aimed at a live socket id. None may crash
 * the listener, create state, or disturb the concurrent good session (a real ffmpeg caller).
 */
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import {
  ExtType,
  encodeStreamIdWire,
  HandshakeType,
  serializeHandshake,
  serializeHsExtension,
} from '../../../ingest-relay/src/listen/srt/handshake-wire.ts';
import { ControlType, control, serializePacket } from '../../../ingest-relay/src/listen/srt/packet.ts';
import { type SrtServer, startSrtServer } from '../../../ingest-relay/src/listen/srt/server.ts';
import { ffmpegToSrt } from './peers.ts';
import { RecordingHub } from './recording-hub.ts';

let hub: RecordingHub;
let server: SrtServer;
let attacker: dgram.Socket;
let answers = 0;

beforeAll(async () => {
  hub = new RecordingHub({ good: null, steady: null, victim: null });
  server = await startSrtServer({ host: '127.0.0.1', port: 0, hub });
  attacker = dgram.createSocket('udp4');
  attacker.on('message', () => {
    answers++;
  });
  await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', () => resolve()));
});
afterAll(async () => {
  attacker.close();
  await server.close();
});

const send = (bytes: Uint8Array) => attacker.send(bytes, server.port, '127.0.0.1');

function handshake(type: number, cookie: number, version: number) {
  return serializePacket(
    control(ControlType.handshake, {
      destSocketId: 0,
      timestamp: 1,
      cif: serializeHandshake({
        version,
        encryptionField: 0,
        extensionField: version === 5 ? 5 : 2,
        initialSeq: 1,
        mtu: 1500,
        flowWindow: 8192,
        handshakeType: type,
        socketId: 1234,
        cookie,
        peerIp: [0, 0, 0, 0],
        extensions:
          version === 5
            ? [
                {
                  type: ExtType.hsreq,
                  content: serializeHsExtension({
                    srtVersion: 0x10501,
                    flags: 0x3f,
                    receiverDelayMs: 120,
                    senderDelayMs: 120,
                  }),
                },
                { type: ExtType.sid, content: encodeStreamIdWire('good') },
              ]
            : [],
      }),
    }),
  );
}

describe('SRT listener under bad input', () => {
  it('answers an induction flood statelessly: no connection or pending state appears', async () => {
    for (let i = 0; i < 3000; i++) {
      send(handshake(HandshakeType.induction, 0, 4));
      if (i % 200 === 0) await sleep(5);
    }
    for (let i = 0; i < 40 && answers < 2900; i++) await sleep(25);
    expect(answers).toBeGreaterThan(2900);
    expect(server.counters().inductions).toBeGreaterThanOrEqual(answers);
    expect(server.connections()).toEqual([]);
    // A conclusion with a forged cookie is ignored: no session, no hub call.
    send(handshake(HandshakeType.conclusion, 0xdeadbeef, 5));
    await sleep(100);
    expect(hub.authorizations).toEqual([]);
    expect(server.connections()).toEqual([]);
  }, 15_000);

  it('keeps a good ffmpeg session intact while strangers, garbage and oversized datagrams arrive', async () => {
    const good = ffmpegToSrt(`srt://127.0.0.1:${server.port}?streamid=good&latency=120000`, 3);
    for (let i = 0; i < 100 && server.connections().length === 0; i++) await sleep(20);
    const live = server.connections()[0];
    expect(live).toBeDefined();
    const before = server.counters();
    const stranger = serializePacket({
      kind: 'data',
      seq: 5,
      position: 3,
      inOrder: false,
      keyFlag: 0,
      retransmitted: false,
      messageNumber: 1,
      timestamp: 0,
      destSocketId: live?.socketId ?? 0,
      payload: new Uint8Array(1316).fill(0x47),
    });
    const shutdown = serializePacket(
      control(ControlType.shutdown, { destSocketId: live?.socketId ?? 0, timestamp: 0 }),
    );
    for (let i = 0; i < 50; i++) {
      send(stranger); // right socket id, wrong peer address
      send(shutdown); // a stranger must not be able to end the session
      send(new Uint8Array(5)); // truncated header
      send(new Uint8Array(1600)); // oversized
      send(handshake(HandshakeType.conclusion, 1, 5).subarray(0, 40)); // truncated handshake
      send(new Uint8Array(64).fill(0xff)); // control packet of an unknown type to socket 0xffffffff
      await sleep(10);
    }
    const r = await good;
    expect(r.code, r.stderr).toBe(0);
    const after = server.counters();
    expect(after.strangers - before.strangers).toBeGreaterThanOrEqual(150);
    expect(after.oversized - before.oversized).toBe(50);
    expect(after.malformed - before.malformed).toBeGreaterThanOrEqual(100);
    const session = hub.sessions.find((s) => s.streamKey === 'good');
    expect(session?.ended).toBe('peer shutdown');
    const video = session?.events.filter((e) => e.type === 'unit' && e.unit.kind === 'video') ?? [];
    expect(video.length).toBeGreaterThanOrEqual(85); // 3 s at 30 fps, nothing lost
  }, 20_000);

  it('a parser that throws (a relay bug) closes only its own connection; a parallel ffmpeg publish never notices', async () => {
    // Demuxers that saw data before `poison` is set are the steady publish's; any later one throws.
    const healthy = new WeakSet<TsDemuxer>();
    let poison = false;
    const push = TsDemuxer.prototype.push;
    const spy = vi.spyOn(TsDemuxer.prototype, 'push').mockImplementation(function (
      this: TsDemuxer,
      ...args: Parameters<TsDemuxer['push']>
    ) {
      if (!poison) healthy.add(this);
      else if (!healthy.has(this)) throw new TypeError('injected parser bug');
      return push.apply(this, args);
    });
    try {
      const steady = ffmpegToSrt(`srt://127.0.0.1:${server.port}?streamid=steady&latency=120000`, 4);
      for (let i = 0; i < 100 && !hub.sessions.some((x) => x.streamKey === 'steady'); i++) await sleep(20);
      await sleep(300);
      poison = true;
      const victim = ffmpegToSrt(`srt://127.0.0.1:${server.port}?streamid=victim&latency=120000`, 2);
      const v = await victim;
      expect(v.code).not.toBe(0); // the relay shut the victim's connection
      const r = await steady;
      expect(r.code, r.stderr).toBe(0);
      const victimSession = hub.sessions.find((x) => x.streamKey === 'victim');
      expect(victimSession?.ended).toMatch(/relay error: injected parser bug/);
      const session = hub.sessions.find((x) => x.streamKey === 'steady');
      expect(session?.ended).toBe('peer shutdown');
      const video = session?.events.filter((e) => e.type === 'unit' && e.unit.kind === 'video') ?? [];
      expect(video.length).toBeGreaterThanOrEqual(115); // 4 s at 30 fps, nothing lost
    } finally {
      spy.mockRestore();
    }
  }, 20_000);
});
