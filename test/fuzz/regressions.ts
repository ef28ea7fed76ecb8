/**
 * Inputs the fuzzer found that broke a parser, kept after the fix: each runs through the same oracle as the
 * fuzzer (driver.ts runCase) in test/relay/fuzz/parsers.test.ts.
 */

import { concatBytes } from '../../ingest-relay/src/codec/bytes.ts';
import { ChunkWriter, MAX_CHUNK_SIZE } from '../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { setChunkSizeMessage } from '../../ingest-relay/src/listen/rtmp/messages.ts';
import type { FuzzCase } from './mutate.ts';
import { capture, frameDatagrams, nestedBoxes, srtRecords } from './seeds.ts';

export interface Regression {
  target: string;
  /** What went wrong before the fix. */
  found: string;
  input: () => FuzzCase;
}

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/**
 * The caller's first 12 datagrams after its handshake, as the srt-connection seeds hold them, with the last
 * data packet's sequence number moved `jump` ahead.
 */
function srtJumpAhead(jump: number): Uint8Array {
  const sent = srtRecords()
    .filter((r) => r.direction === 0)
    .map((r) => r.datagram.slice())
    .slice(2, 14);
  // A data packet has the top bit of its first word clear; the rest of the word is the sequence number.
  const data = sent.filter((d) => ((d[0] ?? 0x80) & 0x80) === 0);
  const last = data[data.length - 1];
  if (last === undefined) throw new Error('the SRT capture has no data packet after the handshake');
  const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
  view.setUint32(0, (view.getUint32(0) + jump) & 0x7fffffff);
  return frameDatagrams(sent);
}

/** Set Chunk Size to the largest allowed, then one message of `length` bytes: a single chunk. */
function oneHugeChunk(length: number): Uint8Array {
  const writer = new ChunkWriter();
  const first = writer.write(setChunkSizeMessage(MAX_CHUNK_SIZE));
  writer.setChunkSize(MAX_CHUNK_SIZE);
  const media = { csid: 6, typeId: 9, streamId: 1, timestamp: 0, payload: new Uint8Array(length) };
  return concatBytes([first, writer.write(media)]);
}

export const REGRESSIONS: readonly Regression[] = [
  {
    target: 'rtmp-chunk-stream',
    found:
      "ffmpeg's connect/publish commands with one chunk header's length mutated: 476 bytes made the reader " +
      'allocate 17 MB (each message buffer was allocated at its declared length on its first chunk)',
    input: () => ({
      cuts: [1],
      bytes: hex(
        '030200046c69766500047479706502000a6e6f6e707269766174650008666c617368566572020024464d4c452f332e3020' +
          '28636f6d70617469626c653b204c61766635392e32372e313030290005746355726c02001b72746d703a2f2f3132372e30' +
          '2e302e313a34c3333833332f6c69766500000902000000000004010000000000000080430000000000241402000d72656c' +
          '6561736553747265616d0040000000000000000502000766757a7a6b6579430000000000201402000946435075626c6973' +
          '680040080000000000000502000766757a7a6b6579430000000000191402000c63726561746553747265616d0040100000' +
          '000000000543000000000015140200085f636865636b6277004014000000000000050800000000002514010000000200' +
          '077075626c6973680040180000000000000502000766757a7a6b65790200046c69766504000000000135120100000002' +
          '000d40736574446174614672616d6502000a6f6e4d65746144617461080000000d00086475726174696f6e0000000000' +
          '0000000000057769647468004064000000000000000668656967687400405e000000000000000d766964656f64617461' +
          '7261746500404d4c000000000000096672616d657261746500402e00000000c40000000c766964',
      ),
    }),
  },
  {
    target: 'rtmp-chunk-stream',
    found:
      'a 1 MiB chunk (after Set Chunk Size 16 MiB) read 1 KiB at a time: the unfinished chunk was copied ' +
      'again on every read, 512 MB of copying for 1 MiB of input',
    input: () => ({ cuts: [1024], bytes: oneHugeChunk(1024 * 1024) }),
  },
  {
    target: 'mpegts-demux',
    found:
      'clip.ts from a PAT on, mutated so that the frame_length of an ADTS header is its own length: ' +
      'the demuxer emitted an audio access unit with no data (read 1 byte at a time)',
    input: () => ({ cuts: [1], bytes: capture('regressions/mpegts-empty-adts-frame.bin') }),
  },
  {
    target: 'cmaf-inspect',
    found:
      'trak boxes nested 20,000 deep (160 KB): parseBoxes recursed until "Maximum call stack size exceeded"',
    input: () => ({ cuts: [], bytes: nestedBoxes('trak', 20_000) }),
  },
  {
    target: 'srt-connection',
    found:
      'a data packet 2,300 sequence numbers ahead took 124 ms: the too-late drop gave up one missing packet at a ' +
      'time and rescanned the gap for the next buffered one each time, quadratic in the jump',
    input: () => ({ cuts: [1], bytes: srtJumpAhead(8000) }),
  },
];
