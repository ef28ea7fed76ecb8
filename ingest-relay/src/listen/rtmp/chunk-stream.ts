/**
 * RTMP chunk stream (Adobe RTMP specification 1.0, section 5.3): a push()-fed reader that reassembles
 * messages from interleaved chunk streams, and a writer that splits messages into chunks.
 *
 * The reader applies the protocol control messages that change how later bytes are framed (Set Chunk Size,
 * Abort, Window Acknowledgement Size; 5.4.1-5.4.4) as soon as the message completes, and tells the caller
 * when an Acknowledgement is due. It assumes nothing about where TCP splits the bytes.
 */
import { RtmpError } from './error.ts';
import { MessageType, type RtmpMessage } from './messages.ts';

/** RTMP's default chunk size before any Set Chunk Size (5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;
/** Largest chunk size this reader accepts; the spec allows 2^31-1, no encoder needs more than a few KiB. */
export const MAX_CHUNK_SIZE = 1 << 24;
/** Largest message: a keyframe of a high-bitrate 4K stream fits in 8 MiB with room to spare. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 8 * 1024 * 1024;
/** An empty reader lets go of a read buffer larger than this (one huge chunk should not pin its size). */
const RELEASE_ABOVE = 1 << 20;
/** Timestamp value signalling that an Extended Timestamp field follows (5.3.1.3). */
const EXTENDED = 0xffffff;

export type ChunkEvent =
  | { kind: 'message'; message: RtmpMessage }
  | { kind: 'acknowledge'; sequence: number };

interface StreamState {
  /** Absolute timestamp of the current (or last) message, raw 32-bit ms. */
  timestamp: number;
  /** The last header's timestamp field: absolute for fmt 0, delta otherwise; fmt 3 reuses it (5.3.1.2.4). */
  timestampField: number;
  /** The last fmt 0/1/2 header carried an Extended Timestamp, so fmt 3 chunks carry one too. */
  extended: boolean;
  length: number;
  typeId: number;
  streamId: number;
  /** Payload of the message being reassembled, absent between messages. */
  payload: Uint8Array | undefined;
  received: number;
}

export interface ChunkReaderOptions {
  maxMessageLength?: number;
}

export class ChunkReader {
  readonly #maxMessageLength: number;
  readonly #streams = new Map<number, StreamState>();
  #chunkSize = DEFAULT_CHUNK_SIZE;
  /**
   * Bytes not yet read into messages, at #pos..#end of a buffer that grows by doubling: each read is copied
   * in once, instead of joining the unfinished chunk to every read (quadratic in the chunk size; issue 10).
   */
  #pending: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;
  /** Bytes from #pos that complete the chunk being waited for (0: unknown, parse on every read). */
  #awaiting = 0;
  /** Bytes received so far (mod 2^32), for Acknowledgement sequence numbers (5.4.3). */
  #bytesReceived = 0;
  #ackWindow = 0;
  #bytesAtLastAck = 0;

  constructor(options: ChunkReaderOptions = {}) {
    this.#maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
  }

  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Feeds bytes; returns the messages completed and Acknowledgements due, in order. Throws RtmpError. */
  push(bytes: Uint8Array): ChunkEvent[] {
    const events: ChunkEvent[] = [];
    this.#append(bytes);
    if (this.buffered >= this.#awaiting) {
      this.#awaiting = 0;
      while (this.#readChunk(events)) {
        // one chunk per iteration; #readChunk returns false when it needs more bytes
      }
    }
    this.#bytesReceived = (this.#bytesReceived + bytes.byteLength) >>> 0;
    if (this.#ackWindow > 0 && (this.#bytesReceived - this.#bytesAtLastAck) >>> 0 >= this.#ackWindow) {
      this.#bytesAtLastAck = this.#bytesReceived;
      events.push({ kind: 'acknowledge', sequence: this.#bytesReceived });
    }
    return events;
  }

  /** Bytes held back waiting for the rest of a chunk. */
  get buffered(): number {
    return this.#end - this.#pos;
  }

  #append(bytes: Uint8Array): void {
    const live = this.#end - this.#pos;
    if (live === 0 && this.#pending.byteLength > RELEASE_ABOVE) this.#pending = new Uint8Array(0);
    if (this.#end + bytes.byteLength > this.#pending.byteLength) {
      const needed = live + bytes.byteLength;
      const next =
        needed <= this.#pending.byteLength
          ? this.#pending
          : new Uint8Array(Math.max(needed, 2 * this.#pending.byteLength));
      next.set(this.#pending.subarray(this.#pos, this.#end), 0);
      this.#pending = next;
      this.#pos = 0;
      this.#end = live;
    }
    this.#pending.set(bytes, this.#end);
    this.#end += bytes.byteLength;
  }

  #readChunk(events: ChunkEvent[]): boolean {
    const buf = this.#pending.subarray(0, this.#end);
    let at = this.#pos;
    const avail = buf.byteLength - at;
    if (avail < 1) return false;
    // Basic header (5.3.1.1): 1, 2 or 3 bytes.
    const first = buf[at++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (avail < 2) return false;
      csid = 64 + buf[at++]!;
    } else if (csid === 1) {
      if (avail < 3) return false;
      csid = 64 + buf[at]! + buf[at + 1]! * 256;
      at += 2;
    }
    const headerLength = [11, 7, 3, 0][fmt]!;
    if (buf.byteLength - at < headerLength) return false;
    const previous = this.#streams.get(csid);
    if (fmt !== 0 && previous === undefined) {
      throw new RtmpError('bad-chunk', `chunk type ${fmt} on chunk stream ${csid} with no previous header`);
    }
    const state: StreamState = previous ?? {
      timestamp: 0,
      timestampField: 0,
      extended: false,
      length: 0,
      typeId: 0,
      streamId: 0,
      payload: undefined,
      received: 0,
    };
    const inProgress = state.payload !== undefined;
    if (fmt !== 3 && inProgress) {
      throw new RtmpError(
        'bad-chunk',
        `new message header on chunk stream ${csid} inside an unfinished message`,
      );
    }
    // Message header (5.3.1.2), read into locals so a short buffer leaves the state untouched.
    let field = state.timestampField;
    let length = state.length;
    let typeId = state.typeId;
    let streamId = state.streamId;
    let extended = state.extended;
    if (fmt <= 2) {
      field = u24(buf, at);
      extended = field === EXTENDED;
    }
    if (fmt <= 1) {
      length = u24(buf, at + 3);
      typeId = buf[at + 6]!;
    }
    if (fmt === 0) {
      // Message stream id is little-endian (5.3.1.2.1).
      streamId = (buf[at + 7]! | (buf[at + 8]! << 8) | (buf[at + 9]! << 16) | (buf[at + 10]! << 24)) >>> 0;
    }
    at += headerLength;
    // Extended Timestamp (5.3.1.3): present on fmt 3 chunks too when the stream's last header used one.
    if (extended) {
      if (buf.byteLength - at < 4) return false;
      const ext = u32(buf, at);
      at += 4;
      if (fmt <= 2) field = ext;
    }
    if (!inProgress && length > this.#maxMessageLength) {
      throw new RtmpError(
        'message-too-large',
        `message of ${length} bytes on chunk stream ${csid} exceeds the ${this.#maxMessageLength}-byte limit`,
      );
    }
    const remaining = inProgress ? state.length - state.received : length;
    const take = Math.min(remaining, this.#chunkSize);
    if (buf.byteLength - at < take) {
      this.#awaiting = at + take - this.#pos;
      return false;
    }

    // The whole chunk is here: commit the header to the stream state.
    if (!inProgress) {
      state.timestamp = fmt === 0 ? field : (state.timestamp + field) >>> 0;
      state.timestampField = field;
      state.extended = extended;
      state.length = length;
      state.typeId = typeId;
      state.streamId = streamId;
      // Only what has arrived: a declared length is a claim, and ~140 bytes can claim 8 MiB (issue 10).
      state.payload = new Uint8Array(take);
      state.received = 0;
    }
    this.#streams.set(csid, state);
    state.payload = grown(state.payload!, state.received + take, state.length);
    state.payload.set(buf.subarray(at, at + take), state.received);
    state.received += take;
    this.#pos = at + take;
    if (state.received === state.length) {
      const message: RtmpMessage = {
        csid,
        typeId: state.typeId,
        streamId: state.streamId,
        timestamp: state.timestamp,
        payload: state.payload!,
      };
      state.payload = undefined;
      state.received = 0;
      this.#applyControl(message);
      events.push({ kind: 'message', message });
    }
    return true;
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
        if (state !== undefined) {
          state.payload = undefined;
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

/** `payload` with room for `needed` bytes: doubled (amortized O(1) per byte), never past `length`. */
function grown(payload: Uint8Array, needed: number, length: number): Uint8Array {
  if (needed <= payload.byteLength) return payload;
  const next = new Uint8Array(Math.min(length, Math.max(needed, 2 * payload.byteLength)));
  next.set(payload);
  return next;
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
