/**
 * MPEG-TS transport packets and PSI tables (ISO/IEC 13818-1 §2.4.3.2, §2.4.4). Pure parsers over one
 * 188-byte packet or one section; they never throw.
 */
export const TS_PACKET_BYTES = 188;
export const SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const NULL_PID = 0x1fff;

export interface TsPacket {
  pid: number;
  payloadUnitStart: boolean;
  transportError: boolean;
  continuityCounter: number;
  hasPayload: boolean;
  /** discontinuity_indicator of the adaptation field (§2.4.3.5): the CC may jump here. */
  discontinuity: boolean;
  payload: Uint8Array;
}

/** Parses one 188-byte packet starting with the sync byte; undefined when the adaptation field is invalid. */
export function parseTsPacket(p: Uint8Array): TsPacket | undefined {
  const b1 = p[1] ?? 0;
  const b3 = p[3] ?? 0;
  const afc = (b3 >>> 4) & 3;
  let offset = 4;
  let discontinuity = false;
  if (afc & 2) {
    const afLength = p[4] ?? 0;
    if (afLength > 183) return undefined;
    if (afLength > 0) discontinuity = ((p[5] ?? 0) & 0x80) !== 0;
    offset = 5 + afLength;
  }
  return {
    pid: ((b1 & 0x1f) << 8) | (p[2] ?? 0),
    payloadUnitStart: (b1 & 0x40) !== 0,
    transportError: (b1 & 0x80) !== 0,
    continuityCounter: b3 & 0x0f,
    hasPayload: (afc & 1) !== 0 && offset < TS_PACKET_BYTES,
    discontinuity,
    payload: afc & 1 ? p.subarray(Math.min(offset, TS_PACKET_BYTES), TS_PACKET_BYTES) : new Uint8Array(0),
  };
}

/** A complete PSI section's fields up to and excluding the CRC (§2.4.4.10 syntax, section_syntax_indicator 1). */
export interface PsiSection {
  tableId: number;
  /** table_id_extension: program_number in a PMT, transport_stream_id in a PAT. */
  extension: number;
  body: Uint8Array;
}

/** Total length of a section (3 + section_length) from its first bytes, or undefined if too few bytes. */
export function sectionLength(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 3) return undefined;
  return 3 + ((((bytes[1] ?? 0) & 0x0f) << 8) | (bytes[2] ?? 0));
}

export function parseSection(section: Uint8Array): PsiSection | undefined {
  const total = sectionLength(section);
  if (total === undefined || total < 12 || section.byteLength < total) return undefined;
  return {
    tableId: section[0] ?? 0,
    extension: ((section[3] ?? 0) << 8) | (section[4] ?? 0),
    // Skip version/section numbers (bytes 5-7); drop CRC_32 (last 4 bytes).
    body: section.subarray(8, total - 4),
  };
}

/** PAT (§2.4.4.3): program_number -> program_map_PID, skipping program 0 (the network PID). */
export function parsePat(body: Uint8Array): number[] {
  const pids: number[] = [];
  for (let i = 0; i + 4 <= body.byteLength; i += 4) {
    const program = ((body[i] ?? 0) << 8) | (body[i + 1] ?? 0);
    const pid = (((body[i + 2] ?? 0) & 0x1f) << 8) | (body[i + 3] ?? 0);
    if (program !== 0) pids.push(pid);
  }
  return pids;
}

export interface PmtStream {
  streamType: number;
  pid: number;
}

/** PMT (§2.4.4.8): the elementary streams of one program. */
export function parsePmt(body: Uint8Array): PmtStream[] {
  if (body.byteLength < 4) return [];
  const programInfoLength = (((body[2] ?? 0) & 0x0f) << 8) | (body[3] ?? 0);
  const streams: PmtStream[] = [];
  let i = 4 + programInfoLength;
  while (i + 5 <= body.byteLength) {
    const streamType = body[i] ?? 0;
    const pid = (((body[i + 1] ?? 0) & 0x1f) << 8) | (body[i + 2] ?? 0);
    const esInfoLength = (((body[i + 3] ?? 0) & 0x0f) << 8) | (body[i + 4] ?? 0);
    streams.push({ streamType, pid });
    i += 5 + esInfoLength;
  }
  return streams;
}

export interface PesHeader {
  /** 33-bit 90 kHz ticks, raw (wrapping). */
  pts: number | undefined;
  dts: number | undefined;
  /** PES_packet_length: 0 = unbounded (video). */
  packetLength: number;
  payloadOffset: number;
}

/** PES header (§2.4.3.6); undefined when the start code or header is malformed or truncated. */
export function parsePesHeader(b: Uint8Array): PesHeader | undefined {
  if (b.byteLength < 9 || b[0] !== 0 || b[1] !== 0 || b[2] !== 1) return undefined;
  const packetLength = ((b[4] ?? 0) << 8) | (b[5] ?? 0);
  const flags = (b[7] ?? 0) >>> 6;
  const headerDataLength = b[8] ?? 0;
  const payloadOffset = 9 + headerDataLength;
  if (payloadOffset > b.byteLength) return undefined;
  const pts = flags & 2 && headerDataLength >= 5 ? readTimestamp(b, 9) : undefined;
  const dts = flags === 3 && headerDataLength >= 10 ? readTimestamp(b, 14) : undefined;
  return { pts, dts, packetLength, payloadOffset };
}

/** 33-bit timestamp in 5 bytes with marker bits (§2.4.3.7). Multiplication keeps it exact beyond 32 bits. */
function readTimestamp(b: Uint8Array, at: number): number {
  const hi = ((b[at] ?? 0) >>> 1) & 0x07;
  const mid = (((b[at + 1] ?? 0) << 8) | (b[at + 2] ?? 0)) >>> 1;
  const lo = (((b[at + 3] ?? 0) << 8) | (b[at + 4] ?? 0)) >>> 1;
  return hi * 2 ** 30 + mid * 2 ** 15 + lo;
}
