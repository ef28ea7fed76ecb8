/**
 * RTMP targets: the server handshake, the chunk stream reader, AMF0 and aggregate messages (Adobe RTMP
 * specification 1.0, 5.2, 5.3, 7.1.6; AMF0 spec). Their documented failure is a thrown RtmpError.
 */
import fc from 'fast-check';
import { concatBytes } from '../../../ingest-relay/src/codec/bytes.ts';
import { splitAggregate } from '../../../ingest-relay/src/listen/rtmp/aggregate.ts';
import { type Amf0Value, decodeAmf0, encodeAmf0 } from '../../../ingest-relay/src/listen/rtmp/amf0.ts';
import {
  ChunkReader,
  ChunkWriter,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_MESSAGE_LENGTH,
} from '../../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { RtmpError } from '../../../ingest-relay/src/listen/rtmp/error.ts';
import { HANDSHAKE_SIZE, ServerHandshake } from '../../../ingest-relay/src/listen/rtmp/handshake.ts';
import { MessageType, setChunkSizeMessage } from '../../../ingest-relay/src/listen/rtmp/messages.ts';
import { pieces } from '../mutate.ts';
import { capture, flvTagRuns, rtmpChunkBytes, rtmpMessages } from '../seeds.ts';
import { type FuzzTarget, invariant } from '../target.ts';

const isRtmpError = (err: unknown) => err instanceof RtmpError;
/** Basic header (up to 3) + message header (11) + extended timestamp (4): 5.3.1. */
const MAX_CHUNK_HEADER = 18;

const amf0Value: fc.Arbitrary<Amf0Value> = fc.letrec<{ value: Amf0Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    fc.boolean(),
    fc.string({ unit: 'grapheme', maxLength: 24 }),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

export const rtmpTargets: FuzzTarget[] = [
  {
    name: 'rtmp-handshake',
    entry: 'ServerHandshake.push (listen/rtmp/handshake.ts)',
    seeds: () => [capture('rtmp-publish.bin').subarray(0, 1 + 2 * HANDSHAKE_SIZE + 256)],
    maxRandomLength: 4096,
    expected: isRtmpError,
    feed: ({ bytes, cuts }) => {
      const handshake = new ServerHandshake({ timeMs: 0, random: (b) => b.fill(0) });
      let fed = 0;
      let rest = 0;
      for (const piece of pieces(bytes, cuts)) {
        const wasDone = handshake.done;
        const out = handshake.push(piece);
        fed += piece.byteLength;
        if (out.reply) invariant(out.reply.byteLength === 1 + 2 * HANDSHAKE_SIZE, 'S0+S1+S2 length');
        if (out.done) rest += out.rest?.byteLength ?? 0;
        invariant(wasDone ? out.done : true, 'a finished handshake went back to unfinished');
      }
      const total = 1 + 2 * HANDSHAKE_SIZE;
      invariant(handshake.done === fed >= total, `done=${handshake.done} after ${fed} bytes`);
      if (handshake.done) invariant(rest === fed - total, `rest ${rest} bytes, expected ${fed - total}`);
    },
  },
  {
    name: 'rtmp-chunk-stream',
    entry: 'ChunkReader.push (listen/rtmp/chunk-stream.ts)',
    seeds: () => {
      const stream = rtmpChunkBytes();
      return [512, 2048, 4096, 8192].map((n) => stream.subarray(0, n));
    },
    generate: fc
      .tuple(
        fc.integer({ min: 1, max: 8192 }),
        fc.array(
          fc.record({
            csid: fc.integer({ min: 2, max: 65599 }),
            typeId: fc.constantFrom(8, 9, 18, 20, 22, 4, 5, 3),
            streamId: fc.nat(3),
            timestamp: fc.nat(),
            payload: fc.uint8Array({ maxLength: 600 }),
          }),
          { maxLength: 6 },
        ),
      )
      .map(([chunkSize, messages]) => {
        const writer = new ChunkWriter();
        const parts = [writer.write({ ...setChunkSizeMessage(chunkSize), csid: 2 })];
        writer.setChunkSize(chunkSize);
        for (const m of messages) parts.push(writer.write(m));
        return concatBytes(parts);
      }),
    maxRandomLength: 1024,
    expected: isRtmpError,
    feed: ({ bytes, cuts }) => {
      const reader = new ChunkReader();
      let fed = 0;
      for (const piece of pieces(bytes, cuts)) {
        fed += piece.byteLength;
        for (const event of reader.push(piece)) {
          if (event.kind !== 'message') continue;
          invariant(
            event.message.payload.byteLength <= DEFAULT_MAX_MESSAGE_LENGTH,
            'message over the length limit',
          );
        }
        // What is held back is only bytes that arrived, within the connection's budget (unfinished messages
        // over every chunk stream, plus a partial chunk header).
        invariant(
          reader.buffered <= DEFAULT_MAX_BUFFERED_BYTES + MAX_CHUNK_HEADER && reader.buffered <= fed,
          `${reader.buffered} bytes buffered after ${fed} bytes fed`,
        );
      }
    },
  },
  {
    name: 'amf0',
    entry: 'decodeAmf0 (listen/rtmp/amf0.ts)',
    seeds: () =>
      rtmpMessages()
        .filter((m) => m.typeId === MessageType.commandAmf0 || m.typeId === MessageType.dataAmf0)
        .map((m) => m.payload),
    generate: fc.array(amf0Value, { minLength: 1, maxLength: 4 }).map((values) => encodeAmf0(...values)),
    expected: isRtmpError,
    feed: ({ bytes }) => {
      const values = decodeAmf0(bytes);
      // What the decoder returns, the encoder writes, and that reads back to the same bytes again.
      const once = encodeAmf0(...values);
      const twice = encodeAmf0(...decodeAmf0(once));
      invariant(Buffer.from(once).equals(Buffer.from(twice)), 'AMF0 re-encoding is not stable');
    },
  },
  {
    name: 'rtmp-aggregate',
    entry: 'splitAggregate (listen/rtmp/aggregate.ts)',
    seeds: () => flvTagRuns(4),
    expected: isRtmpError,
    feed: ({ bytes }) => {
      const subs = splitAggregate({ csid: 4, typeId: 22, streamId: 1, timestamp: 1000, payload: bytes });
      let total = 0;
      for (const s of subs) total += s.payload.byteLength + 15;
      invariant(total <= bytes.byteLength + 4, 'sub-messages larger than the aggregate');
    },
  },
];
