/**
 * H.264 helpers: NAL units (ISO 14496-10 7.3.1, Annex B), the sequence parameter set (7.3.2.1.1, VUI in E.1.1)
 * and the AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1, the avcC box payload).
 */
import { BitReader, ByteReader, ByteWriter, malformed, type Parsed, parsed } from './bytes.ts';

/** nal_unit_type values (ISO 14496-10 Table 7-1) the relay cares about. */
export const NalType = {
  nonIdr: 1,
  idr: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  aud: 9,
  filler: 12,
} as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export function isIdr(nal: Uint8Array): boolean {
  return nalType(nal) === NalType.idr;
}

/**
 * Splits an Annex B byte stream on 3- and 4-byte start codes; trailing zero bytes belong to the next start code.
 * The scan jumps from one 0x01 byte to the next (native `indexOf`) and checks the two bytes before it: every
 * frame of every rung's ffmpeg output passes through here.
 */
export function splitAnnexB(bytes: Uint8Array): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let start = -1;
  let from = 2;
  for (;;) {
    const one = bytes.indexOf(1, from);
    if (one < 0) break;
    if (bytes[one - 1] === 0 && bytes[one - 2] === 0) {
      if (start >= 0) pushTrimmed(nals, bytes, start, one - 2);
      start = one + 1;
      from = one + 3;
    } else {
      from = one + 1;
    }
  }
  if (start >= 0) pushTrimmed(nals, bytes, start, bytes.byteLength);
  return nals;
}

function pushTrimmed(out: Uint8Array[], bytes: Uint8Array, start: number, end: number): void {
  let e = end;
  while (e > start && bytes[e - 1] === 0) e--; // trailing_zero_8bits / leading zero of a 4-byte start code
  if (e > start) out.push(bytes.subarray(start, e));
}

/** Splits a length-prefixed (AVCC) sample into NAL units; `nalLengthSize` is 1, 2 or 4 (from the avcC). */
export function splitAvcc(data: Uint8Array, nalLengthSize: number): Parsed<Uint8Array[]> {
  const r = new ByteReader(data);
  const nals: Uint8Array[] = [];
  while (r.remaining > 0) {
    const len = nalLengthSize === 1 ? r.u8() : nalLengthSize === 2 ? r.u16() : r.u32();
    const nal = r.bytes(len);
    if (r.error) return malformed(`AVCC sample: ${r.error}`);
    if (len > 0) nals.push(nal);
  }
  return parsed(nals);
}

/**
 * NAL units to the sample payload that goes into mdat: 4-byte big-endian lengths. AUDs, parameter sets and
 * filler are dropped: the parameter sets live in the avcC (ISO 14496-15 5.3.2: "avc1" samples carry them out of band).
 */
export function annexBToAvcc(nals: readonly Uint8Array[]): Uint8Array {
  const kept = nals.filter((nal) => {
    const t = nalType(nal);
    return t !== NalType.aud && t !== NalType.sps && t !== NalType.pps && t !== NalType.filler;
  });
  let size = 0;
  for (const nal of kept) size += 4 + nal.byteLength;
  // Written in place, one copy per NAL unit: every demuxed video frame (the rungs' too) comes through here.
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const nal of kept) {
    view.setUint32(at, nal.byteLength);
    out.set(nal, at + 4);
    at += 4 + nal.byteLength;
  }
  return out;
}

/** Removes emulation_prevention_three_byte (7.4.1): 00 00 03 -> 00 00. */
export function removeEmulationPrevention(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.byteLength);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < nal.byteLength; i++) {
    const b = nal[i] ?? 0;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[o++] = b;
  }
  return out.subarray(0, o);
}

export interface AvcConfig {
  profileIdc: number;
  profileCompat: number;
  levelIdc: number;
  /** Bytes in each NAL length prefix of the samples (1, 2 or 4). */
  nalLengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Parses an AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1.2). */
export function parseAvcC(avcC: Uint8Array): Parsed<AvcConfig> {
  const r = new ByteReader(avcC);
  const version = r.u8();
  const profileIdc = r.u8();
  const profileCompat = r.u8();
  const levelIdc = r.u8();
  const nalLengthSize = (r.u8() & 0x3) + 1;
  const spsCount = r.u8() & 0x1f;
  const sps: Uint8Array[] = [];
  for (let i = 0; i < spsCount; i++) sps.push(r.bytes(r.u16()));
  const ppsCount = r.u8();
  const pps: Uint8Array[] = [];
  for (let i = 0; i < ppsCount; i++) pps.push(r.bytes(r.u16()));
  if (r.error) return malformed(`avcC: ${r.error}`);
  if (version !== 1) return malformed(`avcC: configurationVersion ${version}, expected 1`);
  if (nalLengthSize === 3) return malformed('avcC: lengthSizeMinusOne 2 is not allowed');
  if (sps.length === 0 || pps.length === 0) return malformed('avcC: no SPS or no PPS');
  return parsed({ profileIdc, profileCompat, levelIdc, nalLengthSize, sps, pps });
}

/** Builds an avcC with 4-byte NAL lengths from the first SPS and the PPSs (as the muxer writes samples). */
export function buildAvcC(sps: Uint8Array, pps: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(16 + sps.byteLength + pps.reduce((s, p) => s + p.byteLength + 2, 0));
  w.u8(1)
    .u8(sps[1] ?? 0)
    .u8(sps[2] ?? 0)
    .u8(sps[3] ?? 0);
  w.u8(0xfc | 3); // reserved '111111' + lengthSizeMinusOne = 3
  w.u8(0xe0 | 1)
    .u16(sps.byteLength)
    .bytes(sps);
  w.u8(pps.length);
  for (const p of pps) w.u16(p.byteLength).bytes(p);
  // 5.3.3.1.2: high profiles carry chroma format and bit depths after the PPSs.
  const profile = sps[1] ?? 0;
  if (profile === 100 || profile === 110 || profile === 122 || profile === 144) {
    const info = parseSps(sps);
    const s = info.ok ? info.value : { chromaFormatIdc: 1, bitDepthLuma: 8, bitDepthChroma: 8 };
    w.u8(0xfc | s.chromaFormatIdc)
      .u8(0xf8 | (s.bitDepthLuma - 8))
      .u8(0xf8 | (s.bitDepthChroma - 8))
      .u8(0);
  }
  return w.finish();
}

/** RFC 6381 section 3.3: `avc1.` + profile_idc, constraint flags, level_idc as hex. */
export function avcCodecString(avcC: Uint8Array): string {
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return `avc1.${hex(avcC[1] ?? 0)}${hex(avcC[2] ?? 0)}${hex(avcC[3] ?? 0)}`;
}

export interface SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  width: number;
  height: number;
  frameMbsOnly: boolean;
  /** Sample aspect ratio from the VUI, when present. */
  sar?: { width: number; height: number };
  /** Frames per second from VUI timing (time_scale / (2 * num_units_in_tick)), when present. */
  frameRate?: number;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Table E-1 sample aspect ratios, indexed by aspect_ratio_idc. */
// biome-ignore format: a table reads better in rows
const SAR_TABLE: readonly (readonly [number, number])[] = [
  [0, 0], [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11],
  [80, 33], [18, 11], [15, 11], [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
];

/** Parses a sequence parameter set NAL unit (with its 1-byte header). */
export function parseSps(spsNal: Uint8Array): Parsed<SpsInfo> {
  if (nalType(spsNal) !== NalType.sps) return malformed(`SPS: nal_unit_type ${nalType(spsNal)}, expected 7`);
  const b = new BitReader(removeEmulationPrevention(spsNal.subarray(1)));
  const profileIdc = b.bits(8);
  const constraintFlags = b.bits(8);
  const levelIdc = b.bits(8);
  b.readUE(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = b.readUE();
    if (chromaFormatIdc === 3) separateColourPlane = b.bit();
    bitDepthLuma = b.readUE() + 8;
    bitDepthChroma = b.readUE() + 8;
    b.bit(); // qpprime_y_zero_transform_bypass_flag
    if (b.bit()) {
      // seq_scaling_matrix_present_flag: 8 lists, or 12 for 4:4:4 (7.3.2.1.1.1)
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) if (b.bit()) skipScalingList(b, i < 6 ? 16 : 64);
    }
  }
  b.readUE(); // log2_max_frame_num_minus4
  const pocType = b.readUE();
  if (pocType === 0) b.readUE();
  else if (pocType === 1) {
    b.bit(); // delta_pic_order_always_zero_flag
    b.readSE();
    b.readSE();
    const cycle = b.readUE();
    if (cycle > 255) return malformed('SPS: num_ref_frames_in_pic_order_cnt_cycle > 255');
    for (let i = 0; i < cycle; i++) b.readSE();
  }
  b.readUE(); // max_num_ref_frames
  b.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = b.readUE() + 1;
  const heightMapUnits = b.readUE() + 1;
  const frameMbsOnly = b.bit() === 1;
  if (!frameMbsOnly) b.bit(); // mb_adaptive_frame_field_flag
  b.bit(); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (b.bit()) crop = { left: b.readUE(), right: b.readUE(), top: b.readUE(), bottom: b.readUE() };
  // 7.4.2.1.1: crop units depend on ChromaArrayType and field coding.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaFormatIdc === 3 ? 1 : 2;
  const subHeightC = chromaFormatIdc === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  const info: SpsInfo = {
    profileIdc,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
    frameMbsOnly,
  };
  if (b.bit()) readVui(b, info);
  if (b.error) return malformed(`SPS: ${b.error}`);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    return malformed(`SPS: implausible size ${width}x${height}`);
  }
  return parsed(info);
}

function skipScalingList(b: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size && b.error === undefined; j++) {
    if (next !== 0) next = (last + b.readSE() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** VUI up to the timing info (E.1.1); the rest (HRD, bitstream restriction) is not needed. */
function readVui(b: BitReader, info: SpsInfo): void {
  if (b.bit()) {
    const idc = b.bits(8);
    if (idc === 255) info.sar = { width: b.bits(16), height: b.bits(16) };
    else {
      const sar = SAR_TABLE[idc];
      if (sar && sar[0] > 0) info.sar = { width: sar[0], height: sar[1] };
    }
  }
  if (b.bit()) b.bit(); // overscan
  if (b.bit()) {
    b.skipBits(4); // video_format, video_full_range_flag
    if (b.bit()) b.skipBits(24); // colour primaries, transfer, matrix
  }
  if (b.bit()) {
    b.readUE();
    b.readUE();
  }
  if (b.bit()) {
    const unitsInTick = b.bits(32);
    const timeScale = b.bits(32);
    if (b.error === undefined && unitsInTick > 0 && timeScale > 0) {
      info.frameRate = Math.round((timeScale / (2 * unitsInTick)) * 1000) / 1000;
    }
  }
}

/** Human profile name (ISO 14496-10 Annex A), e.g. for health reports. */
export function profileName(profileIdc: number, constraintFlags = 0): string {
  switch (profileIdc) {
    case 66:
      return constraintFlags & 0x40 ? 'Constrained Baseline' : 'Baseline';
    case 77:
      return 'Main';
    case 88:
      return 'Extended';
    case 100:
      return 'High';
    case 110:
      return 'High 10';
    case 122:
      return 'High 4:2:2';
    case 244:
      return 'High 4:4:4 Predictive';
    case 44:
      return 'CAVLC 4:4:4 Intra';
    default:
      return `profile ${profileIdc}`;
  }
}

/** Parameter sets found among a sample's NAL units (MPEG-TS carries them in-band). */
export function parameterSets(nals: readonly Uint8Array[]): { sps: Uint8Array[]; pps: Uint8Array[] } {
  return {
    sps: nals.filter((n) => nalType(n) === NalType.sps),
    pps: nals.filter((n) => nalType(n) === NalType.pps),
  };
}
