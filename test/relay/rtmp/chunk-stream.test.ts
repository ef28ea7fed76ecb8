import { describe, expect, it } from 'vitest';
import {
  basicHeader,
  type ChunkEvent,
  ChunkReader,
  ChunkWriter,
} from '../../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { RtmpError } from '../../../ingest-relay/src/listen/rtmp/error.ts';
import type { RtmpMessage } from '../../../ingest-relay/src/listen/rtmp/messages.ts';

const u24 = (v: number) => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const fill = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i + seed) & 0xff);

function fmt0(csid: number, ts: number, len: number, type: number, sid: number): number[] {
  return [...basicHeader(0, csid), ...u24(ts), ...u24(len), type, ...le32(sid)];
}

function messages(events: ChunkEvent[]): RtmpMessage[] {
  return events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
}

/** A stream exercising every header type, interleaving, chunk-size changes and extended timestamps. */
function sample(): {
  bytes: Uint8Array;
  expected: Array<Omit<RtmpMessage, 'payload'> & { payload: number[] }>;
} {
  const a = fill(300, 1); // video on csid 6, 3 chunks at 128
  const b = fill(10, 50); // audio on csid 4
  const bytes = [
    // A chunk 1 (fmt 0, ts 1000), then B whole (fmt 0, ts 1005), then A's continuations (fmt 3).
    ...fmt0(6, 1000, 300, 9, 1),
    ...a.slice(0, 128),
    ...fmt0(4, 1005, 10, 8, 1),
    ...b,
    ...basicHeader(3, 6),
    ...a.slice(128, 256),
    ...basicHeader(3, 6),
    ...a.slice(256),
    // fmt 2 on csid 4: same length/type, delta 23 -> ts 1028; fmt 3 new message: delta 23 again -> 1051.
    ...basicHeader(2, 4),
    ...u24(23),
    ...b,
    ...basicHeader(3, 4),
    ...b,
    // fmt 1 on csid 6: delta 33, new length 5 -> ts 1033.
    ...basicHeader(1, 6),
    ...u24(33),
    ...u24(5),
    9,
    ...fill(5, 9),
    // Set Chunk Size 4096 on csid 2, then a 1000-byte message in one chunk on csid 64 (2-byte basic header).
    ...fmt0(2, 0, 4, 1, 0),
    ...u32(4096),
    ...fmt0(64, 7, 1000, 18, 1),
    ...fill(1000, 3),
    // Extended timestamp 0x01000000 on csid 400 (3-byte header), chunk size back to 100, fmt 3 continuation
    // repeats the extended timestamp (5.3.1.3).
    ...fmt0(2, 0, 4, 1, 0),
    ...u32(100),
    ...fmt0(400, 0xffffff, 150, 9, 1),
    ...u32(0x01000000),
    ...fill(100, 7),
    ...basicHeader(3, 400),
    ...u32(0x01000000),
    ...fill(50, 107),
  ];
  const expected = [
    { csid: 4, typeId: 8, streamId: 1, timestamp: 1005, payload: b },
    { csid: 6, typeId: 9, streamId: 1, timestamp: 1000, payload: a },
    { csid: 4, typeId: 8, streamId: 1, timestamp: 1028, payload: b },
    { csid: 4, typeId: 8, streamId: 1, timestamp: 1051, payload: b },
    { csid: 6, typeId: 9, streamId: 1, timestamp: 1033, payload: fill(5, 9) },
    { csid: 2, typeId: 1, streamId: 0, timestamp: 0, payload: u32(4096) },
    { csid: 64, typeId: 18, streamId: 1, timestamp: 7, payload: fill(1000, 3) },
    { csid: 2, typeId: 1, streamId: 0, timestamp: 0, payload: u32(100) },
    { csid: 400, typeId: 9, streamId: 1, timestamp: 0x01000000, payload: fill(150, 7) },
  ];
  return { bytes: Uint8Array.from(bytes), expected };
}

function plain(list: RtmpMessage[]) {
  return list.map((m) => ({ ...m, payload: Array.from(m.payload) }));
}

describe('ChunkReader', () => {
  it('reassembles interleaved messages over every header type', () => {
    const { bytes, expected } = sample();
    expect(plain(messages(new ChunkReader().push(bytes)))).toEqual(expected);
  });

  it('gives the same messages when the bytes are split at every boundary', () => {
    const { bytes, expected } = sample();
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const reader = new ChunkReader();
      const got = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(plain(messages(got)), `split at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same messages fed one byte at a time', () => {
    const { bytes, expected } = sample();
    const reader = new ChunkReader();
    const got: ChunkEvent[] = [];
    for (let i = 0; i < bytes.byteLength; i++) got.push(...reader.push(bytes.subarray(i, i + 1)));
    expect(plain(messages(got))).toEqual(expected);
    expect(reader.buffered).toBe(0);
  });

  it('reads extended timestamps on fmt 3 chunks that start a new message', () => {
    const bytes = Uint8Array.from([
      ...fmt0(5, 0xffffff, 2, 8, 1),
      ...u32(0xfffffff0),
      1,
      2,
      ...basicHeader(3, 5),
      ...u32(0xfffffff0),
      3,
      4,
    ]);
    const got = messages(new ChunkReader().push(bytes));
    // fmt 3 reuses the previous header's timestamp field as the delta: 0xfffffff0 * 2 mod 2^32.
    expect(got.map((m) => [m.timestamp, Array.from(m.payload)])).toEqual([
      [0xfffffff0, [1, 2]],
      [0xffffffe0, [3, 4]],
    ]);
  });

  it('drops a half-received message on Abort', () => {
    const bytes = Uint8Array.from([
      ...fmt0(6, 0, 200, 9, 1),
      ...fill(128, 0),
      ...fmt0(2, 0, 4, 2, 0),
      ...u32(6),
      ...fmt0(6, 40, 3, 9, 1),
      7,
      8,
      9,
    ]);
    const got = messages(new ChunkReader().push(bytes));
    expect(got.map((m) => [m.typeId, m.timestamp, m.payload.byteLength])).toEqual([
      [2, 0, 4],
      [9, 40, 3],
    ]);
  });

  it('asks for an Acknowledgement once the peer window of bytes arrived', () => {
    const reader = new ChunkReader();
    const first = reader.push(Uint8Array.from([...fmt0(2, 0, 4, 5, 0), ...u32(100)]));
    expect(first.filter((e) => e.kind === 'acknowledge')).toEqual([]);
    const filler = Uint8Array.from([...fmt0(3, 0, 90, 20, 0), ...fill(90, 0)]);
    const second = reader.push(filler);
    expect(second.filter((e) => e.kind === 'acknowledge')).toEqual([
      { kind: 'acknowledge', sequence: 16 + 102 },
    ]);
  });

  it('refuses absurd chunk sizes, oversize messages and headers without a previous one', () => {
    expect(() => new ChunkReader().push(Uint8Array.from([...fmt0(2, 0, 4, 1, 0), ...u32(0)]))).toThrow(
      /Set Chunk Size 0/,
    );
    expect(() => new ChunkReader().push(Uint8Array.from([...fmt0(2, 0, 4, 1, 0), ...u32(1 << 25)]))).toThrow(
      /Set Chunk Size 33554432/,
    );
    const big = () =>
      new ChunkReader({ maxMessageLength: 1000 }).push(Uint8Array.from(fmt0(6, 0, 1001, 9, 1)));
    expect(big).toThrow(RtmpError);
    expect(big).toThrow(/1001 bytes .* exceeds the 1000-byte limit/);
    expect(() =>
      new ChunkReader().push(Uint8Array.from([...basicHeader(1, 9), 0, 0, 0, 0, 0, 1, 8])),
    ).toThrow(/chunk type 1 on chunk stream 9 with no previous header/);
    expect(() =>
      new ChunkReader().push(
        Uint8Array.from([...fmt0(6, 0, 300, 9, 1), ...fill(128, 0), ...fmt0(6, 0, 3, 9, 1)]),
      ),
    ).toThrow(/inside an unfinished message/);
  });
});

describe('ChunkWriter', () => {
  it('allocates only for bytes that arrived, however long the declared messages', () => {
    const reader = new ChunkReader();
    const before = process.memoryUsage().arrayBuffers;
    // 8 MiB declared on each of 60 chunk streams, 128 bytes sent on each: 480 MiB if reserved up front.
    for (let csid = 3; csid < 63; csid++) {
      reader.push(Uint8Array.from([...fmt0(csid, 0, 8 * 1024 * 1024, 9, 1), ...fill(128, csid)]));
    }
    expect(reader.buffered).toBe(60 * 128);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * 1024 * 1024);
  });

  it('bounds the bytes of unfinished messages over all chunk streams, and the number of chunk streams', () => {
    const reader = new ChunkReader({ maxBufferedBytes: 1000, limitNames: { maxBufferedBytes: 'BUDGET' } });
    // Chunks of 400: two messages half sent hold 800 bytes; a third would hold 1,200.
    reader.push(Uint8Array.from([...fmt0(2, 0, 4, 1, 0), ...u32(400)]));
    reader.push(Uint8Array.from([...fmt0(4, 0, 800, 9, 1), ...fill(400, 1)]));
    reader.push(Uint8Array.from([...fmt0(6, 0, 800, 8, 1), ...fill(400, 2)]));
    expect(reader.buffered).toBe(800);
    let error: unknown;
    try {
      reader.push(Uint8Array.from([...fmt0(8, 0, 800, 8, 1), ...fill(400, 3)]));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RtmpError);
    expect((error as RtmpError).limit).toBe('BUDGET');
    // Completed messages give their bytes back to the budget.
    const ok = new ChunkReader({ maxBufferedBytes: 1000 });
    ok.push(Uint8Array.from([...fmt0(2, 0, 4, 1, 0), ...u32(4096)]));
    for (let i = 0; i < 10; i++) ok.push(Uint8Array.from([...fmt0(4, i, 900, 9, 1), ...fill(900, i)]));
    expect(ok.buffered).toBe(0);
    const few = new ChunkReader({ maxChunkStreams: 3 });
    few.push(Uint8Array.from([...fmt0(3, 0, 0, 20, 0), ...fmt0(4, 0, 0, 20, 0), ...fmt0(5, 0, 0, 20, 0)]));
    expect(() => few.push(Uint8Array.from(fmt0(6, 0, 0, 20, 0)))).toThrow(/more than 3 chunk streams/);
  });

  it('applies tighter limits until setLimits raises them', () => {
    const reader = new ChunkReader({ maxMessageLength: 100, maxBufferedBytes: 100 });
    expect(() =>
      new ChunkReader({ maxMessageLength: 100 }).push(Uint8Array.from(fmt0(4, 0, 101, 9, 1))),
    ).toThrow(/exceeds the 100-byte limit/);
    reader.setLimits({ maxMessageLength: 1000, maxBufferedBytes: 1000, maxChunkStreams: 8 });
    const got = messages(reader.push(Uint8Array.from([...fmt0(4, 0, 101, 9, 1), ...fill(101, 0)])));
    expect(got.map((m) => m.payload.byteLength)).toEqual([101]);
    expect(reader.buffered).toBe(0);
  });

  it('reassembles a large chunk that arrives in many small reads', () => {
    const reader = new ChunkReader();
    const size = 1 << 20;
    const payload = Uint8Array.from(fill(size, 5));
    const head = Uint8Array.from([...fmt0(2, 0, 4, 1, 0), ...u32(size), ...fmt0(6, 0, size, 9, 1)]);
    const bytes = Buffer.concat([head, payload]);
    const got: RtmpMessage[] = [];
    for (let at = 0; at < bytes.byteLength; at += 1000) {
      got.push(...messages(reader.push(bytes.subarray(at, at + 1000))));
    }
    expect(got).toHaveLength(2);
    expect(Buffer.compare(got[1]!.payload, payload)).toBe(0);
    expect(reader.buffered).toBe(0);
  });

  it('writes chunks the reader reads back, including extended timestamps and large csids', () => {
    const writer = new ChunkWriter();
    const reader = new ChunkReader();
    const sent: RtmpMessage[] = [
      { csid: 3, typeId: 20, streamId: 0, timestamp: 0, payload: Uint8Array.from(fill(500, 1)) },
      { csid: 70, typeId: 9, streamId: 1, timestamp: 0x12345678, payload: Uint8Array.from(fill(300, 2)) },
      { csid: 1000, typeId: 8, streamId: 1, timestamp: 5, payload: new Uint8Array(0) },
    ];
    const got = sent.flatMap((m) => messages(reader.push(writer.write(m))));
    expect(plain(got)).toEqual(plain(sent));
    expect(writer.write(sent[0]!).byteLength).toBe(12 + 500 + 3);
  });
});
