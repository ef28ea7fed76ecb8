import { describe, expect, it } from 'vitest';
import { splitAggregate } from '../../../ingest-relay/src/listen/rtmp/aggregate.ts';
import type { RtmpMessage } from '../../../ingest-relay/src/listen/rtmp/messages.ts';

/** One sub-message: FLV-style tag header (type, size, timestamp + extended byte, stream id), body, back pointer. */
function sub(type: number, timestamp: number, body: number[]): number[] {
  const size = body.length;
  return [
    type,
    (size >> 16) & 0xff,
    (size >> 8) & 0xff,
    size & 0xff,
    (timestamp >> 16) & 0xff,
    (timestamp >> 8) & 0xff,
    timestamp & 0xff,
    (timestamp >>> 24) & 0xff,
    0,
    0,
    0,
    ...body,
    0,
    0,
    0,
    11 + size,
  ];
}

function aggregate(timestamp: number, payload: number[]): RtmpMessage {
  return { csid: 6, typeId: 22, streamId: 1, timestamp, payload: Uint8Array.from(payload) };
}

describe('splitAggregate', () => {
  it('splits sub-messages and shifts their timestamps to the aggregate timestamp (RTMP 1.0 7.1.6)', () => {
    const got = splitAggregate(
      aggregate(5000, [...sub(9, 100, [0x17, 1]), ...sub(8, 120, [0xaf, 1, 7]), ...sub(9, 133, [0x27])]),
    );
    expect(got.map((m) => [m.typeId, m.timestamp, Array.from(m.payload), m.streamId, m.csid])).toEqual([
      [9, 5000, [0x17, 1], 1, 6],
      [8, 5020, [0xaf, 1, 7], 1, 6],
      [9, 5033, [0x27], 1, 6],
    ]);
  });

  it('reads the extended timestamp byte and wraps modulo 2^32', () => {
    const got = splitAggregate(
      aggregate(0xfffffff0, [...sub(9, 0x01000000, [1]), ...sub(9, 0x01000020, [2])]),
    );
    expect(got.map((m) => m.timestamp)).toEqual([0xfffffff0, 0x10]);
  });

  it('refuses truncated and nested content', () => {
    const whole = sub(9, 0, [1, 2, 3]);
    expect(() => splitAggregate(aggregate(0, whole.slice(0, 8)))).toThrow(/truncated header/);
    expect(() => splitAggregate(aggregate(0, whole.slice(0, 12)))).toThrow(/truncated body/);
    expect(() => splitAggregate(aggregate(0, sub(22, 0, [1])))).toThrow(/sub-message of type 22/);
  });
});
