/**
 * RTMP message types and the protocol control / command messages the server sends
 * (Adobe RTMP specification 1.0, sections 5.4 and 7).
 */
import { type Amf0Value, encodeAmf0 } from './amf0.ts';

/** Message type ids (5.4, 7.1). */
export const MessageType = {
  setChunkSize: 1,
  abort: 2,
  acknowledgement: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  dataAmf3: 15,
  commandAmf3: 17,
  dataAmf0: 18,
  commandAmf0: 20,
  aggregate: 22,
} as const;

/** User control event types (7.1.7). */
export const UserControlEvent = {
  streamBegin: 0,
  streamEof: 1,
  pingRequest: 6,
  pingResponse: 7,
} as const;

/** Chunk stream ids the server writes on: 2 is reserved for protocol control (5.4). */
export const ChunkStreamId = { control: 2, command: 3, status: 5 } as const;

export interface RtmpMessage {
  /** Chunk stream the message arrived on (2-65599). */
  csid: number;
  typeId: number;
  /** Message stream id (0 for the NetConnection). */
  streamId: number;
  /** Raw 32-bit timestamp, milliseconds; unwrapping happens in the demuxer (demux/timestamps.ts). */
  timestamp: number;
  payload: Uint8Array;
}

function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0);
  return b;
}

function control(typeId: number, payload: Uint8Array): RtmpMessage {
  return { csid: ChunkStreamId.control, typeId, streamId: 0, timestamp: 0, payload };
}

export function setChunkSizeMessage(size: number): RtmpMessage {
  return control(MessageType.setChunkSize, u32(size & 0x7fffffff));
}

export function windowAckSizeMessage(size: number): RtmpMessage {
  return control(MessageType.windowAckSize, u32(size));
}

/** Limit type 2 = dynamic (5.4.5). */
export function setPeerBandwidthMessage(size: number, limitType: 0 | 1 | 2): RtmpMessage {
  const payload = new Uint8Array(5);
  payload.set(u32(size), 0);
  payload[4] = limitType;
  return control(MessageType.setPeerBandwidth, payload);
}

export function acknowledgementMessage(sequence: number): RtmpMessage {
  return control(MessageType.acknowledgement, u32(sequence));
}

export function userControlMessage(event: number, value: number): RtmpMessage {
  const payload = new Uint8Array(6);
  const view = new DataView(payload.buffer);
  view.setUint16(0, event);
  view.setUint32(2, value >>> 0);
  return control(MessageType.userControl, payload);
}

/** An AMF0 command (7.1.1): name, transaction id, then arguments. */
export function commandMessage(
  streamId: number,
  name: string,
  transactionId: number,
  ...args: Amf0Value[]
): RtmpMessage {
  const csid = streamId === 0 ? ChunkStreamId.command : ChunkStreamId.status;
  return {
    csid,
    typeId: MessageType.commandAmf0,
    streamId,
    timestamp: 0,
    payload: encodeAmf0(name, transactionId, ...args),
  };
}
