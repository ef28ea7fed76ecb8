/**
 * Handshake control information field and its extensions (draft-sharabayko-srt-01 §3.2.1).
 *
 *   Version (32) | Encryption Field (16) Extension Field (16) | Initial Packet Sequence Number (32)
 *   MTU (32) | Maximum Flow Window Size (32) | Handshake Type (32) | SRT Socket ID (32) | SYN Cookie (32)
 *   Peer IP Address (128) | then extensions: Type (16) Length (16, in 4-byte words) Contents
 */
import { ByteReader, ByteWriter, malformed, type Parsed, parsed } from '../../codec/bytes.ts';

export const HandshakeType = {
  waveahand: 0x00000000,
  induction: 0x00000001,
  conclusion: 0xffffffff,
  agreement: 0xfffffffe,
  done: 0xfffffffd,
} as const;

/** The Extension Field of an HSv5 induction response carries this magic (draft §3.2.1). */
export const SRT_MAGIC = 0x4a17;

/** Extension Field flags of a conclusion (draft §3.2.1 Table 4). */
export const ExtFlag = { hsreq: 0x1, kmreq: 0x2, config: 0x4 } as const;

/** Extension types (draft §3.2.1 Table 5). */
export const ExtType = {
  hsreq: 1,
  hsrsp: 2,
  kmreq: 3,
  kmrsp: 4,
  sid: 5,
  congestion: 6,
  filter: 7,
  group: 8,
} as const;

/** SRT flags of the HSREQ/HSRSP extension (draft §3.2.1.1.1 Table 6). */
export const SrtFlag = {
  tsbpdSnd: 0x01,
  tsbpdRcv: 0x02,
  crypt: 0x04,
  tlpktDrop: 0x08,
  periodicNak: 0x10,
  rexmitFlag: 0x20,
  stream: 0x40,
  packetFilter: 0x80,
} as const;

export interface HandshakeExtension {
  type: number;
  content: Uint8Array;
}

export interface HandshakeCif {
  version: number;
  encryptionField: number;
  extensionField: number;
  initialSeq: number;
  mtu: number;
  flowWindow: number;
  handshakeType: number;
  socketId: number;
  cookie: number;
  /** Four 32-bit words as they appear on the wire. */
  peerIp: [number, number, number, number];
  extensions: HandshakeExtension[];
}

export function parseHandshake(cif: Uint8Array): Parsed<HandshakeCif> {
  const r = new ByteReader(cif);
  const version = r.u32();
  const encryptionField = r.u16();
  const extensionField = r.u16();
  const initialSeq = r.u32() & 0x7fffffff;
  const mtu = r.u32();
  const flowWindow = r.u32();
  const handshakeType = r.u32();
  const socketId = r.u32();
  const cookie = r.u32();
  const peerIp: [number, number, number, number] = [r.u32(), r.u32(), r.u32(), r.u32()];
  if (r.error) return malformed(`handshake too short: ${r.error}`);
  const extensions: HandshakeExtension[] = [];
  // Bounded: each extension consumes at least 4 bytes of a datagram of at most 1500.
  while (r.remaining >= 4) {
    const type = r.u16();
    const words = r.u16();
    const content = r.bytes(words * 4);
    if (r.error) return malformed(`handshake extension ${type} runs past the packet`);
    extensions.push({ type, content });
  }
  return parsed({
    version,
    encryptionField,
    extensionField,
    initialSeq,
    mtu,
    flowWindow,
    handshakeType,
    socketId,
    cookie,
    peerIp,
    extensions,
  });
}

export function serializeHandshake(h: HandshakeCif): Uint8Array {
  const w = new ByteWriter(64);
  w.u32(h.version).u16(h.encryptionField).u16(h.extensionField).u32(h.initialSeq).u32(h.mtu);
  w.u32(h.flowWindow).u32(h.handshakeType).u32(h.socketId).u32(h.cookie);
  for (const word of h.peerIp) w.u32(word);
  for (const ext of h.extensions) {
    const padded = ext.content.byteLength % 4 === 0 ? ext.content : padTo4(ext.content);
    w.u16(ext.type)
      .u16(padded.byteLength / 4)
      .bytes(padded);
  }
  return w.finish();
}

function padTo4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.byteLength / 4) * 4);
  out.set(b);
  return out;
}

/** HSREQ / HSRSP content (draft §3.2.1.1 Figure 6). Latencies in milliseconds. */
export interface HsExtension {
  srtVersion: number;
  flags: number;
  /** Latency this side applies as a receiver (low 16 bits of the third word). */
  receiverDelayMs: number;
  /** Latency this side asks the peer receiver to apply (high 16 bits). */
  senderDelayMs: number;
}

export function parseHsExtension(content: Uint8Array): Parsed<HsExtension> {
  const r = new ByteReader(content);
  const srtVersion = r.u32();
  const flags = r.u32();
  const senderDelayMs = r.u16();
  const receiverDelayMs = r.u16();
  if (r.error) return malformed('HSREQ extension shorter than 12 bytes');
  return parsed({ srtVersion, flags, receiverDelayMs, senderDelayMs });
}

export function serializeHsExtension(h: HsExtension): Uint8Array {
  return new ByteWriter(12)
    .u32(h.srtVersion)
    .u32(h.flags)
    .u16(h.senderDelayMs)
    .u16(h.receiverDelayMs)
    .finish();
}

/**
 * The Stream ID extension holds the string in 32-bit words whose bytes are in little-endian order: libsrt
 * copies the string into host words and byte-swaps each (draft §3.2.1.3). Reversing each 4-byte group maps
 * between wire and text in both directions; trailing NULs are padding.
 */
export function decodeStreamIdWire(content: Uint8Array): string {
  const swapped = swapWords(content);
  let end = swapped.byteLength;
  while (end > 0 && swapped[end - 1] === 0) end--;
  return new TextDecoder('utf-8', { fatal: false }).decode(swapped.subarray(0, end));
}

export function encodeStreamIdWire(streamId: string): Uint8Array {
  const text = new TextEncoder().encode(streamId);
  return swapWords(padTo4(text));
}

function swapWords(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.byteLength / 4) * 4);
  for (let i = 0; i < b.byteLength; i++) {
    const word = i - (i % 4);
    out[word + 3 - (i % 4)] = b[i] ?? 0;
  }
  return out;
}
