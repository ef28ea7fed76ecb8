/**
 * SRT packet structure (draft-sharabayko-srt-01 §3): a 16-byte header, then a data payload or a control
 * information field (CIF). Parsing never throws: malformed bytes give `{ ok: false, error }`.
 *
 *   word 0: F (1 bit: 0 data, 1 control) | data: sequence number (31) ; control: type (15) | subtype (16)
 *   word 1: data: PP (2) O (1) KK (2) R (1) message number (26) ; control: type-specific information
 *   word 2: timestamp (32, microseconds since the sender's socket start)
 *   word 3: destination SRT socket id
 */
import { ByteReader, ByteWriter, malformed, type Parsed, parsed } from '../../codec/bytes.ts';

export const HEADER_BYTES = 16;
/** Largest datagram we accept: SRT's default MTU (1500) is the whole IP packet, so payloads are smaller. */
export const MAX_DATAGRAM_BYTES = 1500;

/** Control packet types, draft §3.2 Table 1. */
export const ControlType = {
  handshake: 0x0000,
  keepalive: 0x0001,
  ack: 0x0002,
  nak: 0x0003,
  congestionWarning: 0x0004,
  shutdown: 0x0005,
  ackack: 0x0006,
  dropRequest: 0x0007,
  peerError: 0x0008,
  userDefined: 0x7fff,
} as const;

/** KK field of a data packet (draft §3.1): which key encrypted the payload. */
export const KeyFlag = { none: 0, even: 1, odd: 2 } as const;

export interface DataPacket {
  kind: 'data';
  /** 31-bit packet sequence number. */
  seq: number;
  /** PP: 0b10 first, 0b00 middle, 0b01 last, 0b11 solo packet of a message. */
  position: number;
  inOrder: boolean;
  /** KK: 0 clear, 1 even key, 2 odd key. */
  keyFlag: number;
  /** R: set on a retransmitted packet when the REXMITFLG was negotiated. */
  retransmitted: boolean;
  messageNumber: number;
  /** Microseconds since the sender's socket start (32-bit, wraps about every 71.6 minutes). */
  timestamp: number;
  destSocketId: number;
  payload: Uint8Array;
}

export interface ControlPacket {
  kind: 'control';
  type: number;
  subtype: number;
  /** Type-specific information (ACK number for ACK/ACKACK, message number for drop request). */
  info: number;
  timestamp: number;
  destSocketId: number;
  cif: Uint8Array;
}

export type SrtPacket = DataPacket | ControlPacket;

export function parsePacket(bytes: Uint8Array): Parsed<SrtPacket> {
  if (bytes.byteLength < HEADER_BYTES)
    return malformed(`packet of ${bytes.byteLength} bytes is shorter than the header`);
  if (bytes.byteLength > MAX_DATAGRAM_BYTES)
    return malformed(`packet of ${bytes.byteLength} bytes exceeds the MTU`);
  const r = new ByteReader(bytes);
  const w0 = r.u32();
  const w1 = r.u32();
  const timestamp = r.u32();
  const destSocketId = r.u32();
  const body = bytes.subarray(HEADER_BYTES);
  if ((w0 & 0x80000000) === 0) {
    return parsed({
      kind: 'data',
      seq: w0 & 0x7fffffff,
      position: w1 >>> 30,
      inOrder: ((w1 >>> 29) & 1) === 1,
      keyFlag: (w1 >>> 27) & 3,
      retransmitted: ((w1 >>> 26) & 1) === 1,
      messageNumber: w1 & 0x03ffffff,
      timestamp,
      destSocketId,
      payload: body,
    });
  }
  return parsed({
    kind: 'control',
    type: (w0 >>> 16) & 0x7fff,
    subtype: w0 & 0xffff,
    info: w1,
    timestamp,
    destSocketId,
    cif: body,
  });
}

export function serializePacket(p: SrtPacket): Uint8Array {
  const body = p.kind === 'data' ? p.payload : p.cif;
  const w = new ByteWriter(HEADER_BYTES + body.byteLength);
  if (p.kind === 'data') {
    w.u32(p.seq & 0x7fffffff);
    w.u32(
      (((p.position & 3) << 30) |
        ((p.inOrder ? 1 : 0) << 29) |
        ((p.keyFlag & 3) << 27) |
        ((p.retransmitted ? 1 : 0) << 26) |
        (p.messageNumber & 0x03ffffff)) >>>
        0,
    );
  } else {
    w.u32((0x80000000 | ((p.type & 0x7fff) << 16) | (p.subtype & 0xffff)) >>> 0);
    w.u32(p.info >>> 0);
  }
  w.u32(p.timestamp >>> 0);
  w.u32(p.destSocketId >>> 0);
  w.bytes(body);
  return w.finish();
}

export function control(
  type: number,
  fields: { destSocketId: number; timestamp: number; info?: number; subtype?: number; cif?: Uint8Array },
): ControlPacket {
  return {
    kind: 'control',
    type,
    subtype: fields.subtype ?? 0,
    info: fields.info ?? 0,
    timestamp: fields.timestamp,
    destSocketId: fields.destSocketId,
    cif: fields.cif ?? new Uint8Array(0),
  };
}

/** Full ACK CIF, draft §3.2.4 Figure 13. Times in microseconds, rates per second. */
export interface AckFields {
  /** The sequence number following the last packet received in order. */
  lastAckedSeq: number;
  rttUs: number;
  rttVarUs: number;
  availableBufferPackets: number;
  packetsReceivingRate: number;
  estimatedLinkCapacity: number;
  receivingRateBytes: number;
}

export function encodeAck(a: AckFields): Uint8Array {
  const w = new ByteWriter(28);
  w.u32(a.lastAckedSeq);
  w.u32(a.rttUs >>> 0);
  w.u32(a.rttVarUs >>> 0);
  w.u32(a.availableBufferPackets >>> 0);
  w.u32(a.packetsReceivingRate >>> 0);
  w.u32(a.estimatedLinkCapacity >>> 0);
  w.u32(a.receivingRateBytes >>> 0);
  return w.finish();
}

export function decodeAck(cif: Uint8Array): Parsed<AckFields> {
  const r = new ByteReader(cif);
  const lastAckedSeq = r.u32() & 0x7fffffff;
  if (r.error) return malformed('ACK without a sequence number');
  // A light ACK carries only the sequence number (draft §3.2.4); the rest reads as zero.
  const rest = r.remaining >= 24;
  const v = rest ? [r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()] : [0, 0, 0, 0, 0, 0];
  return parsed({
    lastAckedSeq,
    rttUs: v[0] ?? 0,
    rttVarUs: v[1] ?? 0,
    availableBufferPackets: v[2] ?? 0,
    packetsReceivingRate: v[3] ?? 0,
    estimatedLinkCapacity: v[4] ?? 0,
    receivingRateBytes: v[5] ?? 0,
  });
}

/** An inclusive range of lost sequence numbers; a single loss has first === last. */
export interface LossRange {
  first: number;
  last: number;
}

/**
 * NAK loss list compression (draft §3.2.5, Appendix A): a single lost packet is its sequence number with the
 * top bit clear; a range is the first number with the top bit set followed by the last number.
 */
export function encodeLossList(ranges: readonly LossRange[]): Uint8Array {
  const w = new ByteWriter(ranges.length * 8);
  for (const { first, last } of ranges) {
    if (first === last) w.u32(first & 0x7fffffff);
    else {
      w.u32((0x80000000 | first) >>> 0);
      w.u32(last & 0x7fffffff);
    }
  }
  return w.finish();
}

export function decodeLossList(cif: Uint8Array): Parsed<LossRange[]> {
  const r = new ByteReader(cif);
  const out: LossRange[] = [];
  while (r.remaining >= 4) {
    const v = r.u32();
    if ((v & 0x80000000) === 0) out.push({ first: v, last: v });
    else {
      const last = r.u32();
      if (r.error) return malformed('NAK range without its last sequence number');
      out.push({ first: v & 0x7fffffff, last: last & 0x7fffffff });
    }
  }
  if (r.remaining !== 0) return malformed('NAK loss list is not a whole number of words');
  return parsed(out);
}
