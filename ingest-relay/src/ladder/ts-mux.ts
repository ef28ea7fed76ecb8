/**
 * A video-only MPEG-TS muxer (ISO/IEC 13818-1) for the ladder's ffmpeg input. The relay re-muxes its own
 * validated access units rather than piping the raw ingest bytes, so malformed input never reaches ffmpeg in a
 * form that hangs it (issue 12), and the timestamps ffmpeg sees are the output timeline's.
 *
 *   PAT (PID 0) -> program 1 -> PMT (PID 0x1000) -> H.264 (stream_type 0x1B) on PID 0x100, also the PCR PID
 *
 * PAT and PMT go before every keyframe, so a restarted ffmpeg fed from a keyframe finds them at once. Each access
 * unit is one PES (stream_id 0xE0) in Annex B form: an AUD, on keyframes the SPS and PPS from the avcC, then the
 * sample's NAL units. PES_packet_length is set whenever the PES fits in it (up to 65,535 bytes): ffmpeg's
 * demuxer hands a bounded PES on as soon as its last byte is in, where an unbounded one waits for the next.
 */
import { concatBytes as concat } from '../codec/bytes.ts';
import { parseAvcC } from '../codec/h264.ts';

const TS_PACKET = 188;
const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const PROGRAM = 1;
const STREAM_TYPE_H264 = 0x1b;
/** 33-bit PTS/DTS/PCR base (§2.4.3.7). */
const TS_WRAP = 2 ** 33;

export interface TsVideoFrame {
  /** 90 kHz ticks, non-negative. */
  dts: number;
  pts: number;
  keyframe: boolean;
  /** NAL units with 4-byte big-endian lengths (the access unit model's AVCC form). */
  avcc: Uint8Array;
}

export class TsVideoMuxer {
  readonly #parameterSets: Uint8Array;
  readonly #cc = new Map<number, number>();

  /** `avcC`: the AVCDecoderConfigurationRecord whose SPS and PPS go before every keyframe. */
  constructor(avcC: Uint8Array) {
    const config = parseAvcC(avcC);
    if (!config.ok) throw new Error(config.error);
    this.#parameterSets = annexB([...config.value.sps, ...config.value.pps]);
  }

  /**
   * TS packets for one access unit (with PAT and PMT ahead of a keyframe), in one buffer: the PES is built
   * once and packetized straight into it (a frame is written to ffmpeg for every source frame, so no
   * intermediate copies per NAL unit or per packet).
   */
  frame(f: TsVideoFrame): Uint8Array {
    const pes = pesPacket(f, splitLengthPrefixed(f.avcc), f.keyframe ? this.#parameterSets : EMPTY);
    const firstRoom = TS_PACKET - 4 - (f.keyframe ? PCR_ADAPTATION : 0);
    const pesPackets = 1 + Math.max(0, Math.ceil((pes.byteLength - firstRoom) / (TS_PACKET - 4)));
    const psi = f.keyframe ? 2 : 0;
    const out = new Uint8Array((psi + pesPackets) * TS_PACKET);
    if (f.keyframe) {
      this.#section(out.subarray(0, TS_PACKET), 0, PAT_SECTION);
      this.#section(out.subarray(TS_PACKET, 2 * TS_PACKET), PMT_PID, PMT_SECTION);
    }
    this.#pes(out.subarray(psi * TS_PACKET), pes, f);
    return out;
  }

  #nextCc(pid: number): number {
    const cc = ((this.#cc.get(pid) ?? -1) + 1) & 0x0f;
    this.#cc.set(pid, cc);
    return cc;
  }

  /** A PSI section in one packet `p`: pointer_field 0, the section, 0xFF stuffing. */
  #section(p: Uint8Array, pid: number, section: Uint8Array): void {
    p.fill(0xff);
    header(p, pid, true, this.#nextCc(pid), false);
    p[4] = 0;
    p.set(section, 5);
  }

  /** The PES split into the packets of `out`; the first carries the PCR (and random access) on keyframes. */
  #pes(out: Uint8Array, pes: Uint8Array, f: TsVideoFrame): void {
    let at = 0;
    let offset = 0;
    while (at < pes.byteLength) {
      const first = at === 0;
      const pcr = first && f.keyframe;
      const minAdaptation = pcr ? PCR_ADAPTATION : 0;
      const room = TS_PACKET - 4 - minAdaptation;
      const take = Math.min(room, pes.byteLength - at);
      const stuffing = room - take;
      const p = out.subarray(offset, offset + TS_PACKET);
      const adaptation = minAdaptation + stuffing;
      header(p, VIDEO_PID, first, this.#nextCc(VIDEO_PID), adaptation > 0);
      if (adaptation > 0) writeAdaptation(p, adaptation, pcr ? f.dts : undefined);
      p.set(pes.subarray(at, at + take), 4 + adaptation);
      at += take;
      offset += TS_PACKET;
    }
  }
}

/** Adaptation field carrying a PCR: length byte + flags byte + 6 PCR bytes. */
const PCR_ADAPTATION = 8;
const EMPTY = new Uint8Array(0);
/** Access unit delimiter, primary_pic_type 7 (any slice type), with its start code. */
const AUD = new Uint8Array([0, 0, 0, 1, 0x09, 0xf0]);

function header(p: Uint8Array, pid: number, unitStart: boolean, cc: number, adaptation: boolean): void {
  p[0] = 0x47;
  p[1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  p[3] = (adaptation ? 0x30 : 0x10) | cc;
}

/**
 * §2.4.3.4: adaptation_field_length, then the flags (random_access_indicator and PCR_flag on a keyframe's
 * first packet) and stuffing bytes 0xFF. `total` counts the length byte itself.
 */
function writeAdaptation(p: Uint8Array, total: number, pcrBase: number | undefined): void {
  p[4] = total - 1;
  if (total === 1) return;
  p[5] = pcrBase !== undefined ? 0x50 : 0x00;
  let at = 6;
  if (pcrBase !== undefined) {
    const base = pcrBase % TS_WRAP;
    // program_clock_reference_base (33 bits), 6 reserved bits, extension (9 bits) = 0.
    p[6] = Math.floor(base / 2 ** 25) & 0xff;
    p[7] = Math.floor(base / 2 ** 17) & 0xff;
    p[8] = Math.floor(base / 2 ** 9) & 0xff;
    p[9] = Math.floor(base / 2) & 0xff;
    p[10] = ((base % 2) << 7) | 0x7e;
    p[11] = 0;
    at = 12;
  }
  p.fill(0xff, at, 4 + total);
}

/**
 * §2.4.3.6 PES header with PTS (and DTS when it differs), then the payload in Annex B form: an AUD, the
 * parameter sets (on keyframes, else empty), each NAL unit after a start code. One allocation, one copy.
 */
function pesPacket(f: TsVideoFrame, nals: readonly Uint8Array[], parameterSets: Uint8Array): Uint8Array {
  const withDts = f.dts !== f.pts;
  const headerData = withDts ? 10 : 5;
  let payload = AUD.byteLength + parameterSets.byteLength;
  for (const n of nals) payload += START_CODE.byteLength + n.byteLength;
  const length = 3 + headerData + payload;
  const pes = new Uint8Array(9 + headerData + payload);
  pes.set([0, 0, 1, 0xe0]);
  const declared = length <= 0xffff ? length : 0;
  pes[4] = declared >> 8;
  pes[5] = declared & 0xff;
  pes[6] = 0x80; // '10', no scrambling, no priority/alignment/copyright flags
  pes[7] = withDts ? 0xc0 : 0x80;
  pes[8] = headerData;
  writeTimestamp(pes, 9, withDts ? 0x3 : 0x2, f.pts);
  if (withDts) writeTimestamp(pes, 14, 0x1, f.dts);
  let at = 9 + headerData;
  pes.set(AUD, at);
  at += AUD.byteLength;
  pes.set(parameterSets, at);
  at += parameterSets.byteLength;
  for (const n of nals) {
    pes.set(START_CODE, at);
    pes.set(n, at + START_CODE.byteLength);
    at += START_CODE.byteLength + n.byteLength;
  }
  return pes;
}

/** A 33-bit timestamp in the 5-byte marker-bit form, prefixed by the 4-bit `prefix`. */
function writeTimestamp(b: Uint8Array, at: number, prefix: number, ticks: number): void {
  const t = ticks % TS_WRAP;
  b[at] = (prefix << 4) | (Math.floor(t / 2 ** 29) & 0x0e) | 1;
  b[at + 1] = Math.floor(t / 2 ** 22) & 0xff;
  b[at + 2] = (Math.floor(t / 2 ** 14) & 0xfe) | 1;
  b[at + 3] = Math.floor(t / 2 ** 7) & 0xff;
  b[at + 4] = ((t % 2 ** 7) << 1) | 1;
}

/** PAT and PMT never change: built once. */
const PAT_SECTION = patSection();
const PMT_SECTION = pmtSection();

function patSection(): Uint8Array {
  // program_number 1 -> program_map_PID
  return psiSection(0x00, 1, [PROGRAM >> 8, PROGRAM & 0xff, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff]);
}

function pmtSection(): Uint8Array {
  const body = [
    0xe0 | (VIDEO_PID >> 8),
    VIDEO_PID & 0xff, // PCR_PID
    0xf0,
    0x00, // program_info_length 0
    STREAM_TYPE_H264,
    0xe0 | (VIDEO_PID >> 8),
    VIDEO_PID & 0xff,
    0xf0,
    0x00, // ES_info_length 0
  ];
  return psiSection(0x02, PROGRAM, body);
}

/** §2.4.4: table_id, section_length, id, version 0 current, section 0 of 0, the body, CRC_32. */
function psiSection(tableId: number, id: number, body: readonly number[]): Uint8Array {
  const length = 5 + body.length + 4;
  const bytes = [tableId, 0xb0 | (length >> 8), length & 0xff, id >> 8, id & 0xff, 0xc1, 0x00, 0x00, ...body];
  const crc = crc32Mpeg(bytes);
  return new Uint8Array([...bytes, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
}

/** CRC-32/MPEG-2 (Annex A): polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final xor. */
export function crc32Mpeg(bytes: readonly number[] | Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

function splitLengthPrefixed(avcc: Uint8Array): Uint8Array[] {
  const view = new DataView(avcc.buffer, avcc.byteOffset, avcc.byteLength);
  const nals: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= avcc.byteLength) {
    const length = view.getUint32(at);
    if (at + 4 + length > avcc.byteLength) break;
    nals.push(avcc.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return nals;
}

function annexB(nals: readonly Uint8Array[]): Uint8Array {
  return concat(nals.flatMap((n) => [START_CODE, n]));
}

const START_CODE = new Uint8Array([0, 0, 0, 1]);
