// The server's side of the RTMP conversation, byte for byte, with a scripted publisher: connect replies,
// createStream, publish, media in plain and aggregate messages, unpublish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlvDemuxer } from '../../../ingest-relay/src/demux/flv.ts';
import { decodeAmf0 } from '../../../ingest-relay/src/listen/rtmp/amf0.ts';
import { ChunkReader, ChunkWriter } from '../../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { commandMessage, type RtmpMessage } from '../../../ingest-relay/src/listen/rtmp/messages.ts';
import { type RtmpServer, startRtmpServer } from '../../../ingest-relay/src/listen/rtmp/server.ts';
import { type FlvTag, makeFlvClip } from '../demux/flv-file.ts';
import { memoryLog, RawClient, RecordingHub, waitFor } from './support.ts';

/** Reads what the server sends, as messages. */
class Replies {
  readonly #reader = new ChunkReader();
  readonly #client: RawClient;
  readonly messages: RtmpMessage[] = [];
  #consumed = 0;

  constructor(client: RawClient) {
    this.#client = client;
  }

  async next(count: number): Promise<RtmpMessage[]> {
    await waitFor(`${count} replies`, () => {
      const fresh = this.#client.received.subarray(this.#consumed);
      this.#consumed = this.#client.received.byteLength;
      for (const e of this.#reader.push(fresh)) if (e.kind === 'message') this.messages.push(e.message);
      return this.messages.length >= count;
    });
    return this.messages.splice(0, count);
  }
}

/** Aggregate message body (RTMP 1.0 7.1.6) holding `tags`. */
function aggregateOf(tags: FlvTag[]): Uint8Array {
  const parts = tags.flatMap((t) => {
    const h = new Uint8Array(11);
    const v = new DataView(h.buffer);
    // Timestamp (bytes 4-6, high byte 7), then type + size (bytes 0-3) over the timestamp's spare top byte.
    v.setUint32(3, t.timestamp & 0xffffff);
    h[7] = t.timestamp >>> 24;
    v.setUint32(0, t.body.byteLength);
    h[0] = t.type;
    h.fill(0, 8);
    const back = new Uint8Array(4);
    new DataView(back.buffer).setUint32(0, 11 + t.body.byteLength);
    return [h, t.body, back];
  });
  return Buffer.concat(parts);
}

describe('RTMP conversation with a scripted publisher', () => {
  const hub = new RecordingHub();
  const logs = memoryLog();
  let server: RtmpServer;
  let tags: FlvTag[];

  beforeAll(async () => {
    tags = makeFlvClip({ seconds: 1, bframes: 0 })
      .filter((t) => t.type === 8 || t.type === 9)
      .map((t) => ({ ...t, body: Uint8Array.from(t.body) }));
    server = await startRtmpServer({ hub, host: '127.0.0.1', port: 0, log: logs.log });
  });
  afterAll(() => server.close());

  it('answers connect, createStream and publish, takes aggregate media, ends on deleteStream', {
    timeout: 20_000,
  }, async () => {
    const client = await RawClient.connect(server.port);
    await client.handshake();
    const replies = new Replies(client);
    const writer = new ChunkWriter();
    const send = (m: RtmpMessage) => client.send(writer.write(m));

    send(commandMessage(0, 'connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${server.port}/live` }));
    const [windowAck, peerBandwidth, chunkSize, connected] = await replies.next(4);
    expect([windowAck?.typeId, peerBandwidth?.typeId, chunkSize?.typeId]).toEqual([5, 6, 1]);
    expect(Buffer.from(chunkSize!.payload).readUInt32BE(0)).toBe(4096);
    expect(decodeAmf0(connected!.payload)).toMatchObject([
      '_result',
      1,
      { fmsVer: expect.any(String) },
      { level: 'status', code: 'NetConnection.Connect.Success' },
    ]);

    send(commandMessage(0, 'releaseStream', 2, null, 'raw-key'));
    send(commandMessage(0, 'FCPublish', 3, null, 'raw-key'));
    send(commandMessage(0, 'createStream', 4, null));
    const [released, fcPublish, created] = await replies.next(3);
    expect(decodeAmf0(released!.payload).slice(0, 2)).toEqual(['_result', 2]);
    expect(decodeAmf0(fcPublish!.payload)[0]).toBe('onFCPublish');
    expect(decodeAmf0(created!.payload)).toEqual(['_result', 4, null, 1]);

    send(commandMessage(1, 'publish', 5, null, 'raw-key?secret=1', 'live'));
    const [streamBegin, started] = await replies.next(2);
    expect(streamBegin?.typeId).toBe(4);
    expect(started?.streamId).toBe(1);
    expect(decodeAmf0(started!.payload)).toMatchObject([
      'onStatus',
      0,
      null,
      { level: 'status', code: 'NetStream.Publish.Start' },
    ]);

    // The clip's tags: the first two as plain messages, the rest in aggregates of 10.
    const plain = tags.slice(0, 2);
    for (const t of plain)
      send({ csid: 6, typeId: t.type, streamId: 1, timestamp: t.timestamp, payload: t.body });
    for (let i = 2; i < tags.length; i += 10) {
      const group = tags.slice(i, i + 10);
      send({ csid: 6, typeId: 22, streamId: 1, timestamp: group[0]!.timestamp, payload: aggregateOf(group) });
    }
    const session = hub.session('raw-key')!;
    const demux = new FlvDemuxer();
    const expected = tags.flatMap((t) =>
      t.type === 9 ? demux.video(t.body, t.timestamp, 0) : demux.audio(t.body, t.timestamp, 0),
    );
    await waitFor('every unit', () => session.events.length >= expected.length);
    const strip = (events: typeof expected) =>
      events.map((e) => (e.type === 'unit' ? { ...e, unit: { ...e.unit, receivedAt: 0 } } : e));
    expect(strip(session.events)).toEqual(expected);

    send(commandMessage(0, 'FCUnpublish', 6, null, 'raw-key'));
    send(commandMessage(1, 'deleteStream', 7, null, 1));
    await waitFor('end', () => session.endReason !== undefined);
    expect(session.endReason).toBe('encoder disconnected');
    await client.closed;
  });
});
