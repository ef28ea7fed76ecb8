// Bad peers against one listener while a good ffmpeg publish runs on it: each bad connection closes with a
// logged reason, and the good publish keeps delivering units throughout.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlvDemuxer } from '../../../ingest-relay/src/demux/flv.ts';
import { basicHeader, ChunkWriter } from '../../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import {
  commandMessage,
  setChunkSizeMessage,
  UserControlEvent,
  userControlMessage,
} from '../../../ingest-relay/src/listen/rtmp/messages.ts';
import { type RtmpServer, startRtmpServer } from '../../../ingest-relay/src/listen/rtmp/server.ts';
import { registry } from '../../../ingest-relay/src/metrics.ts';
import {
  memoryLog,
  publishWithFfmpeg,
  RawClient,
  type RecordedSession,
  RecordingHub,
  startFfmpegPublish,
  waitFor,
} from './support.ts';

describe('RTMP listener under bad input', { timeout: 20_000 }, () => {
  const hub = new RecordingHub();
  const logs = memoryLog();
  let server: RtmpServer;
  let good: ReturnType<typeof startFfmpegPublish>;
  let goodSession: RecordedSession;
  /** Demuxers that saw media before `poison` was set: the good publish's. Any later one throws. */
  const healthy = new WeakSet<FlvDemuxer>();
  let poison = false;

  beforeAll(async () => {
    // A relay bug inside a parser, injected: a TypeError from the FLV demuxer of every connection that
    // starts after `poison` is set. The original runs for the rest.
    const video = FlvDemuxer.prototype.video;
    vi.spyOn(FlvDemuxer.prototype, 'video').mockImplementation(function (
      this: FlvDemuxer,
      ...args: Parameters<FlvDemuxer['video']>
    ) {
      if (!poison) healthy.add(this);
      else if (!healthy.has(this)) throw new TypeError('injected parser bug');
      return video.apply(this, args);
    });
    server = await startRtmpServer({
      hub,
      host: '127.0.0.1',
      port: 0,
      log: logs.log,
      limits: {
        rtmpHandshakeTimeoutMs: 1000,
        rtmpMaxWriteBufferBytes: 64 * 1024,
        rtmpWriteStallTimeoutMs: 2000,
      },
    });
    // Long enough to outlast every case below; the last case stops it.
    good = startFfmpegPublish(`${server.url}/good`, { seconds: 120 });
    await waitFor('the good publish', () => (hub.session('good')?.units().length ?? 0) > 30, 15_000);
    goodSession = hub.session('good')!;
  }, 20_000);

  afterAll(async () => {
    good.interrupt();
    await good.result;
    await server.close();
    vi.restoreAllMocks();
  });

  /** Runs a bad peer, then checks its logged reason and that the good publish kept flowing meanwhile. */
  async function expectIsolated(code: string, reason: RegExp, badPeer: () => Promise<void>): Promise<void> {
    const before = goodSession.units().length;
    const seen = logs.lines().length;
    const mine = () => logs.lines().slice(seen);
    await badPeer();
    await waitFor(`a ${code} close`, () => mine().some((l) => l.code === code), 10_000);
    const line = mine().find((l) => l.code === code);
    expect(String(line?.reason)).toMatch(reason);
    await waitFor('more good units', () => goodSession.units().length > before + 10, 5000);
    expect(goodSession.endReason).toBeUndefined();
  }

  it('garbage bytes (an HTTP request)', async () => {
    await expectIsolated('bad-handshake', /unsupported RTMP version 71/, async () => {
      const c = await RawClient.connect(server.port);
      c.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await c.closed;
    });
  });

  it('a truncated handshake', async () => {
    await expectIsolated('handshake-truncated', /./, async () => {
      const c = await RawClient.connect(server.port);
      c.send(Uint8Array.of(3, ...new Uint8Array(99)));
      await new Promise((r) => setTimeout(r, 50));
      c.socket.end();
      await c.closed;
    });
    expect(logs.lines().some((l) => l.reason === 'handshake truncated: got 100 of 1537 bytes of C0+C1')).toBe(
      true,
    );
  });

  it('an absurd chunk size', async () => {
    await expectIsolated('bad-chunk-size', /Set Chunk Size 1073741824 is outside/, async () => {
      const c = await RawClient.connect(server.port);
      await c.handshake();
      c.send(new ChunkWriter().write(setChunkSizeMessage(2 ** 30)));
      await c.closed;
    });
  });

  it('an oversize message length before the publish is authorized', async () => {
    await expectIsolated(
      'limit',
      /16777215 bytes .* exceeds the 65536-byte limit \(RTMP_PREAUTH_BUFFER_BYTES\)/,
      async () => {
        const c = await RawClient.connect(server.port);
        await c.handshake();
        c.send(Uint8Array.of(0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0, 0x17, 0));
        await c.closed;
      },
    );
  });

  it('an unsupported video codec (Sorenson H.263 from -c:v flv1)', async () => {
    await expectIsolated('demux', /unsupported video codec id 2 \(Sorenson H.263\): send H.264/, async () => {
      hub.refusals.delete('flv1');
      const run = await publishWithFfmpeg(`${server.url}/flv1`, { seconds: 3, video: ['-c:v', 'flv1'] });
      expect(hub.session('flv1')?.endReason).toMatch(/unsupported video codec id 2/);
      expect(run.code).not.toBe(0);
    });
  }, 20_000);

  it('an unsupported audio codec (MP3 from -c:a libmp3lame)', async () => {
    const mp3 = /unsupported audio codec id 2 \(MP3\): send AAC-LC/;
    await waitFor('the demux close above to be logged', () => true);
    const before = logs.lines().filter((l) => l.code === 'demux').length;
    const run = await publishWithFfmpeg(`${server.url}/mp3`, { seconds: 3, audio: ['-c:a', 'libmp3lame'] });
    expect(run.code).not.toBe(0);
    await waitFor('the mp3 close', () => logs.lines().filter((l) => l.code === 'demux').length > before);
    expect(hub.session('mp3')?.endReason).toMatch(mp3);
    const count = goodSession.units().length;
    await waitFor('more good units', () => goodSession.units().length > count + 10, 5000);
  }, 20_000);

  it('a connection that never reads and never finishes the handshake', async () => {
    let client: RawClient | undefined;
    await expectIsolated(
      'handshake-timeout',
      /handshake truncated: got 0 of 1536 bytes of C2 within 1000 ms/,
      async () => {
        client = await RawClient.connect(server.port, { read: false });
        client.send(Uint8Array.of(3, ...new Uint8Array(1536)));
      },
    );
    // A paused socket does not see the server's close until it reads; the server no longer holds it.
    await waitFor('the server to let go', () => server.connections === 1);
    client?.socket.destroy();
  });

  it('a connection that asks for replies and never reads them', async () => {
    let client: RawClient | undefined;
    await expectIsolated('write-buffer', /encoder is not reading: \d+ bytes unsent/, async () => {
      client = await RawClient.connect(server.port);
      await client.handshake();
      client.socket.pause();
      const writer = new ChunkWriter();
      client.send(writer.write(commandMessage(0, 'connect', 1, { app: 'live' })));
      // Each ping request asks for an 18-byte ping response (RTMP 1.0 7.1.7).
      const ping = writer.write(userControlMessage(UserControlEvent.pingRequest, 1));
      const flood = new Uint8Array(ping.byteLength * 400_000);
      for (let i = 0; i < 400_000; i++) flood.set(ping, i * ping.byteLength);
      client.send(flood);
    });
    await waitFor('the server to let go', () => server.connections === 1);
    client?.socket.destroy();
  });

  it('a parser that throws (a relay bug) closes only its own connection', async () => {
    poison = true;
    try {
      await expectIsolated('internal', /relay error: injected parser bug/, async () => {
        const victim = await publishWithFfmpeg(`${server.url}/victim`, { seconds: 2 });
        expect(victim.code).not.toBe(0);
      });
      expect(hub.session('victim')?.endReason).toMatch(/injected parser bug/);
    } finally {
      poison = false;
    }
  });

  it('huge declared messages on many chunk streams, each partly filled', async () => {
    await expectIsolated('limit', /more than 64 chunk streams \(RTMP_MAX_CHUNK_STREAMS\)/, async () => {
      const c = await RawClient.connect(server.port);
      await c.handshake();
      // 60,000 declared bytes (under the pre-authorization limit) with 128 sent, on chunk streams 3..202.
      for (let csid = 3; csid < 203 && !c.socket.destroyed; csid++) {
        const header = [...basicHeader(0, csid), 0, 0, 0, 0x00, 0xea, 0x60, 20, 0, 0, 0, 0];
        c.send(Uint8Array.from([...header, ...new Uint8Array(128)]));
      }
      await c.closed;
    });
  });

  it('ended the good publish only when ffmpeg stopped', async () => {
    expect(goodSession.endReason).toBeUndefined();
    good.interrupt();
    await good.result;
    await waitFor('end', () => goodSession.endReason !== undefined);
    expect(goodSession.endReason).toBe('encoder disconnected');
  }, 20_000);
});

describe('RTMP connection limits', () => {
  it('refuses connections past MAX_CONNECTIONS_PER_IP at once, counts them, and admits again after a close', async () => {
    const logs = memoryLog();
    const server = await startRtmpServer({
      hub: new RecordingHub(),
      host: '127.0.0.1',
      port: 0,
      log: logs.log,
      limits: { maxConnectionsPerIp: 3 },
    });
    const hits = async () => {
      const metric = await registry.getSingleMetricAsString('relay_limit_hits_total');
      return Number(/limit="MAX_CONNECTIONS_PER_IP"\} (\d+)/.exec(metric)?.[1] ?? 0);
    };
    const before = await hits();
    const idle = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
    try {
      await waitFor('three connections', () => server.connections === 3);
      const refused = await RawClient.connect(server.port);
      await refused.closed;
      expect(server.connections).toBe(3);
      expect(await hits()).toBe(before + 1);
      expect(logs.lines().some((l) => l.limit === 'MAX_CONNECTIONS_PER_IP')).toBe(true);
      idle[0]!.socket.destroy();
      await waitFor('the slot to free', () => server.connections === 2);
      const again = await RawClient.connect(server.port);
      await waitFor('the new connection', () => server.connections === 3);
      again.socket.destroy();
    } finally {
      for (const c of idle) c.socket.destroy();
      await server.close();
    }
  });
});

describe('RTMP listener back-pressure', () => {
  it('pauses reading while the session is over its high-water mark and resumes on drain', async () => {
    const hub = new RecordingHub();
    const server = await startRtmpServer({ hub, host: '127.0.0.1', port: 0, log: memoryLog().log });
    try {
      const run = publishWithFfmpeg(`${server.url}/slow`, { seconds: 3 });
      await waitFor('session', () => hub.session('slow') !== undefined);
      const session = hub.session('slow')!;
      session.highWater = 20;
      await waitFor('20 units', () => session.units().length >= 20);
      await new Promise((r) => setTimeout(r, 1000));
      // One socket read may carry a few more messages after the pause; a second of media would be ~75.
      const held = session.units().length;
      expect(held).toBeLessThan(40);
      session.highWater = Number.POSITIVE_INFINITY;
      session.drain();
      expect((await run).code).toBe(0);
      await waitFor('end', () => session.endReason !== undefined);
      expect(session.units('video').length).toBeGreaterThanOrEqual(80);
    } finally {
      await server.close();
    }
  }, 30_000);
});
