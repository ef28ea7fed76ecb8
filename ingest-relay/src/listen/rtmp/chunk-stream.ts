/**
 * RTMP chunk stream (Adobe RTMP specification 1.0, section 5.3): a push()-fed reader that reassembles
 * messages from interleaved chunk streams, and a writer that splits messages into chunks.
 *
 * The reader applies the protocol control messages that change how later bytes are framed (Set Chunk Size,
 * Abort, Window Acknowledgement Size; 5.4.1-5.4.4) as soon as the message completes, and tells the caller
 * when an Acknowledgement is due. It assumes nothing about where TCP splits the bytes.
 */
import { concatBytes } from '../../codec/bytes.ts';
import { RtmpError } from './error.ts';
import { concat } from './handshake.ts';
import { MessageType, type RtmpMessage } from './messages.ts';

/** RTMP's default chunk size before any Set Chunk Size (5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;
/**
 * Largest chunk size this reader accepts; the spec allows 2^31-1. Chunk bodies are consumed as they arrive,
 * so a large chunk size costs no memory of its own; no encoder needs more than a few KiB.
 */
export const MAX_CHUNK_SIZE = 1 << 24;
/** Largest message: a keyframe of a high-bitrate 4K stream fits in 8 MiB with room to spare. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 8 * 1024 * 1024;
/** Bytes of unfinished messages held across all chunk streams of one connection. */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Chunk streams one connection may open; encoders use a handful (2-8). */
export const DEFAULT_MAX_CHUNK_STREAMS = 64;
/** Timestamp value signalling that an Extended Timestamp field follows (5.3.1.3). */
const EXTENDED = 0xffffff;
/** Longest chunk header: a 3-byte basic header, an 11-byte type 0 message header, a 4-byte extended timestamp. */
const MAX_HEADER_BYTES = 18;
const EMPTY = new Uint8Array(0);

export type ChunkEvent =
  | { kind: 'message'; message: RtmpMessage }
  | { kind: 'acknowledge'; sequence: number };

interface ChunkStreamState {
  /** Absolute timestamp of the current (or last) message, raw 32-bit ms. */
  timestamp: number;
  /** The last header's timestamp field: absolute for fmt 0, delta otherwise; fmt 3 reuses it (5.3.1.2.4). */
  timestampField: number;
  /** The last fmt 0/1/2 header carried an Extended Timestamp, so fmt 3 chunks carry one too. */
  extended: boolean;
  length: number;
  typeId: number;
  streamId: number;
  /** Payload bytes of the message being reassembled, as they arrived; absent between messages. */
  pieces: Uint8Array[] | undefined;
  received: number;
}

/** A chunk header read from the wire, before it is applied to its chunk stream. */
interface ChunkHeader {
  /** Bytes the header took. */
  size: number;
  csid: number;
  fmt: number;
  field: number;
  extended: boolean;
  length: number;
  typeId: number;
  streamId: number;
}

/** Limits that depend on the connection's state: small before a publish is authorized, larger after. */
export interface ChunkLimits {
  /** Largest declared message length, bytes. */
  maxMessageLength: number;
  /** Bytes of unfinished messages held at once, over all chunk streams. */
  maxBufferedBytes: number;
  /** Distinct chunk stream ids seen. */
  maxChunkStreams: number;
}

/** Which configured limit a refusal comes from (its environment variable, config.ts). */
export interface ChunkLimitNames {
  maxMessageLength: string;
  maxBufferedBytes: string;
  maxChunkStreams: string;
}

export interface ChunkReaderOptions extends Partial<ChunkLimits> {
  limitNames?: Partial<ChunkLimitNames>;
}

export class ChunkReader {
  #limits: ChunkLimits;
  #limitNames: ChunkLimitNames;
  readonly #streams = new Map<number, ChunkStreamState>();
  #chunkSize = DEFAULT_CHUNK_SIZE;
  /** The start of a chunk header that arrived without its end (at most MAX_HEADER_BYTES - 1 bytes). */
  #pendingHeader: Uint8Array = EMPTY;
  /** The chunk stream whose chunk body is arriving, and how many of its bytes are still to come. */
  #body: { state: ChunkStreamState; csid: number; remaining: number } | undefined;
  /** Bytes held in unfinished messages, over all chunk streams. */
  #held = 0;
  /** Bytes received so far (mod 2^32), for Acknowledgement sequence numbers (5.4.3). */
  #bytesReceived = 0;
  #ackWindow = 0;
  #bytesAtLastAck = 0;

  constructor(options: ChunkReaderOptions = {}) {
    this.#limits = {
      maxMessageLength: options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      maxChunkStreams: options.maxChunkStreams ?? DEFAULT_MAX_CHUNK_STREAMS,
    };
    this.#limitNames = {
      maxMessageLength: 'maxMessageLength',
      maxBufferedBytes: 'maxBufferedBytes',
      maxChunkStreams: 'maxChunkStreams',
      ...options.limitNames,
    };
  }

  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Bytes held back: unfinished messages and a partial chunk header. */
  get buffered(): number {
    return this.#held + this.#pendingHeader.byteLength;
  }

  /** New limits from now on (the connection's publish was authorized); messages under way keep going. */
  setLimits(limits: ChunkLimits, names?: Partial<ChunkLimitNames>): void {
    this.#limits = { ...limits };
    if (names) this.#limitNames = { ...this.#limitNames, ...names };
  }

  /** Feeds bytes; returns the messages completed and Acknowledgements due, in order. Throws RtmpError. */
  push(bytes: Uint8Array): ChunkEvent[] {
    const events: ChunkEvent[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      if (this.#body !== undefined) {
        at = this.#readBody(bytes, at, events);
        continue;
      }
      if (this.#pendingHeader.byteLength > 0) {
        // Only the few header bytes are joined, never the rest of the read.
        const had = this.#pendingHeader.byteLength;
        const head = concat(this.#pendingHeader, bytes.subarray(at, at + MAX_HEADER_BYTES - had));
        const header = this.#readHeader(head, 0);
        if (header === undefined) {
          this.#pendingHeader = head;
          at = bytes.byteLength;
          break;
        }
        this.#pendingHeader = EMPTY;
        at += header.size - had;
        this.#beginChunk(header, events);
        continue;
      }
      const header = this.#readHeader(bytes, at);
      if (header === undefined) {
        this.#pendingHeader = bytes.slice(at);
        break;
      }
      at += header.size;
      this.#beginChunk(header, events);
    }
    this.#bytesReceived = (this.#bytesReceived + bytes.byteLength) >>> 0;
    if (this.#ackWindow > 0 && (this.#bytesReceived - this.#bytesAtLastAck) >>> 0 >= this.#ackWindow) {
      this.#bytesAtLastAck = this.#bytesReceived;
      events.push({ kind: 'acknowledge', sequence: this.#bytesReceived });
    }
    return events;
  }

  /** A chunk header at `at`, or undefined when it has not all arrived. Changes no state; throws RtmpError. */
  #readHeader(buf: Uint8Array, at0: number): ChunkHeader | undefined {
    let at = at0;
    const avail = buf.byteLength - at;
    if (avail < 1) return undefined;
    // Basic header (5.3.1.1): 1, 2 or 3 bytes.
    const first = buf[at++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (avail < 2) return undefined;
      csid = 64 + buf[at++]!;
    } else if (csid === 1) {
      if (avail < 3) return undefined;
      csid = 64 + buf[at]! + buf[at + 1]! * 256;
      at += 2;
    }
    const headerLength = [11, 7, 3, 0][fmt]!;
    if (buf.byteLength - at < headerLength) return undefined;
    const state = this.#streams.get(csid);
    if (fmt !== 0 && state === undefined) {
      throw new RtmpError('bad-chunk', `chunk type ${fmt} on chunk stream ${csid} with no previous header`);
    }
    if (fmt !== 3 && state?.pieces !== undefined) {
      throw new RtmpError(
        'bad-chunk',
        `new message header on chunk stream ${csid} inside an unfinished message`,
      );
    }
    // Message header (5.3.1.2).
    const h: ChunkHeader = {
      size: 0,
      csid,
      fmt,
      field: state?.timestampField ?? 0,
      extended: state?.extended ?? false,
      length: state?.length ?? 0,
      typeId: state?.typeId ?? 0,
      streamId: state?.streamId ?? 0,
    };
    if (fmt <= 2) {
      h.field = u24(buf, at);
      h.extended = h.field === EXTENDED;
    }
    if (fmt <= 1) {
      h.length = u24(buf, at + 3);
      h.typeId = buf[at + 6]!;
    }
    if (fmt === 0) {
      // Message stream id is little-endian (5.3.1.2.1).
      h.streamId = (buf[at + 7]! | (buf[at + 8]! << 8) | (buf[at + 9]! << 16) | (buf[at + 10]! << 24)) >>> 0;
    }
    at += headerLength;
    // Extended Timestamp (5.3.1.3): present on fmt 3 chunks too when the stream's last header used one.
    if (h.extended) {
      if (buf.byteLength - at < 4) return undefined;
      const ext = u32(buf, at);
      at += 4;
      if (fmt <= 2) h.field = ext;
    }
    h.size = at - at0;
    return h;
  }

  /** Applies a complete header to its chunk stream; the chunk's body follows. */
  #beginChunk(h: ChunkHeader, events: ChunkEvent[]): void {
    let state = this.#streams.get(h.csid);
    if (state === undefined) {
      if (this.#streams.size >= this.#limits.maxChunkStreams) {
        throw this.#limitError(
          'maxChunkStreams',
          `chunk stream ${h.csid} would be more than ${this.#limits.maxChunkStreams} chunk streams`,
        );
      }
      state = {
        timestamp: 0,
        timestampField: 0,
        extended: false,
        length: 0,
        typeId: 0,
        streamId: 0,
        pieces: undefined,
        received: 0,
      };
      this.#streams.set(h.csid, state);
    }
    if (state.pieces === undefined) {
      if (h.length > this.#limits.maxMessageLength) {
        throw this.#limitError(
          'maxMessageLength',
          `message of ${h.length} bytes on chunk stream ${h.csid} exceeds the ${this.#limits.maxMessageLength}-byte limit`,
        );
      }
      state.timestamp = h.fmt === 0 ? h.field : (state.timestamp + h.field) >>> 0;
      state.timestampField = h.field;
      state.extended = h.extended;
      state.length = h.length;
      state.typeId = h.typeId;
      state.streamId = h.streamId;
      state.pieces = [];
      state.received = 0;
    }
    const remaining = Math.min(state.length - state.received, this.#chunkSize);
    if (remaining === 0) this.#finishMessage(state, h.csid, events);
    else this.#body = { state, csid: h.csid, remaining };
  }

  /** Copies what has arrived of the current chunk's body into its message, once. */
  #readBody(bytes: Uint8Array, at: number, events: ChunkEvent[]): number {
    const body = this.#body!;
    const n = Math.min(body.remaining, bytes.byteLength - at);
    if (this.#held + n > this.#limits.maxBufferedBytes) {
      throw this.#limitError(
        'maxBufferedBytes',
        `unfinished messages would hold more than ${this.#limits.maxBufferedBytes} bytes`,
      );
    }
    body.state.pieces!.push(bytes.slice(at, at + n));
    body.state.received += n;
    body.remaining -= n;
    this.#held += n;
    if (body.remaining === 0) {
      this.#body = undefined;
      if (body.state.received === body.state.length) this.#finishMessage(body.state, body.csid, events);
    }
    return at + n;
  }

  #finishMessage(state: ChunkStreamState, csid: number, events: ChunkEvent[]): void {
    const pieces = state.pieces ?? [];
    const payload = pieces.length === 1 ? pieces[0]! : concatBytes(pieces);
    this.#held -= state.received;
    state.pieces = undefined;
    state.received = 0;
    const message: RtmpMessage = {
      csid,
      typeId: state.typeId,
      streamId: state.streamId,
      timestamp: state.timestamp,
      payload,
    };
    this.#applyControl(message);
    events.push({ kind: 'message', message });
  }

  #limitError(which: keyof ChunkLimits, message: string): RtmpError {
    return new RtmpError('limit', message, this.#limitNames[which]);
  }

  /** Protocol control messages that change framing take effect at once (5.4). */
  #applyControl(message: RtmpMessage): void {
    if (message.streamId !== 0) return;
    const p = message.payload;
    switch (message.typeId) {
      case MessageType.setChunkSize: {
        if (p.byteLength < 4) throw new RtmpError('bad-chunk', 'Set Chunk Size message shorter than 4 bytes');
        const size = u32(p, 0) & 0x7fffffff; // the first bit must be zero (5.4.1)
        if (size < 1 || size > MAX_CHUNK_SIZE) {
          throw new RtmpError('bad-chunk-size', `Set Chunk Size ${size} is outside 1..${MAX_CHUNK_SIZE}`);
        }
        this.#chunkSize = size;
        return;
      }
      case MessageType.abort: {
        if (p.byteLength < 4) throw new RtmpError('bad-chunk', 'Abort message shorter than 4 bytes');
        const state = this.#streams.get(u32(p, 0));
        if (state !== undefined && state.pieces !== undefined) {
          this.#held -= state.received;
          state.pieces = undefined;
          state.received = 0;
        }
        return;
      }
      case MessageType.windowAckSize: {
        if (p.byteLength < 4)
          throw new RtmpError('bad-chunk', 'Window Acknowledgement Size shorter than 4 bytes');
        this.#ackWindow = u32(p, 0);
        return;
      }
    }
  }
}

function u24(b: Uint8Array, at: number): number {
  return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Splits messages into chunks: a type 0 chunk, then type 3 continuations (5.3.2.1). */
export class ChunkWriter {
  #chunkSize = DEFAULT_CHUNK_SIZE;

  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Call after writing a Set Chunk Size message: later chunks use the new size. */
  setChunkSize(size: number): void {
    if (size < 1 || size > MAX_CHUNK_SIZE)
      throw new RangeError(`chunk size ${size} outside 1..${MAX_CHUNK_SIZE}`);
    this.#chunkSize = size;
  }

  write(message: RtmpMessage): Uint8Array {
    const { csid, payload } = message;
    const timestamp = message.timestamp >>> 0;
    const extended = timestamp >= EXTENDED;
    const basic = basicHeader(0, csid);
    const continuation = basicHeader(3, csid);
    const extLength = extended ? 4 : 0;
    const chunks = Math.max(1, Math.ceil(payload.byteLength / this.#chunkSize));
    const total =
      basic.byteLength +
      11 +
      extLength +
      (chunks - 1) * (continuation.byteLength + extLength) +
      payload.byteLength;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    let at = 0;
    out.set(basic, at);
    at += basic.byteLength;
    const field = extended ? EXTENDED : timestamp;
    out[at] = field >> 16;
    out[at + 1] = (field >> 8) & 0xff;
    out[at + 2] = field & 0xff;
    out[at + 3] = payload.byteLength >> 16;
    out[at + 4] = (payload.byteLength >> 8) & 0xff;
    out[at + 5] = payload.byteLength & 0xff;
    out[at + 6] = message.typeId;
    view.setUint32(at + 7, message.streamId, true);
    at += 11;
    for (let offset = 0, i = 0; i < chunks; i++) {
      if (i > 0) {
        out.set(continuation, at);
        at += continuation.byteLength;
      }
      if (extended) {
        view.setUint32(at, timestamp);
        at += 4;
      }
      const n = Math.min(this.#chunkSize, payload.byteLength - offset);
      out.set(payload.subarray(offset, offset + n), at);
      at += n;
      offset += n;
    }
    return out;
  }
}

/** Basic header for chunk stream ids 2-65599 (5.3.1.1). */
export function basicHeader(fmt: number, csid: number): Uint8Array {
  if (csid < 2 || csid > 65599) throw new RangeError(`chunk stream id ${csid} outside 2..65599`);
  if (csid < 64) return Uint8Array.of((fmt << 6) | csid);
  if (csid < 320) return Uint8Array.of(fmt << 6, csid - 64);
  return Uint8Array.of((fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8);
}
