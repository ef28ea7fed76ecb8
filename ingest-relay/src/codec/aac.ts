/**
 * AAC helpers: the AudioSpecificConfig (ISO 14496-3 1.6.2.1) and ADTS framing (ISO 14496-3 1.A.2, used by
 * MPEG-TS; FLV carries raw frames plus an AudioSpecificConfig).
 */
import { BitReader, ByteWriter, malformed, type Parsed, parsed } from './bytes.ts';

/** samplingFrequencyIndex -> Hz (ISO 14496-3 Table 1.18). */
export const AAC_SAMPLE_RATES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export interface AudioConfig {
  /** Audio Object Type (2 = AAC LC, 5 = SBR/HE-AAC, 29 = PS/HE-AACv2). */
  objectType: number;
  sampleRate: number;
  channelCount: number;
}

/** Samples per AAC frame (1024 for AAC LC; the core frame of HE-AAC is also 1024 at the core rate). */
export const AAC_FRAME_SAMPLES = 1024;

export function parseAudioSpecificConfig(asc: Uint8Array): Parsed<AudioConfig> {
  const b = new BitReader(asc);
  const readObjectType = () => {
    const t = b.bits(5);
    return t === 31 ? 32 + b.bits(6) : t;
  };
  const readRate = () => {
    const index = b.bits(4);
    return index === 0xf ? b.bits(24) : (AAC_SAMPLE_RATES[index] ?? 0);
  };
  const objectType = readObjectType();
  let sampleRate = readRate();
  const channelConfig = b.bits(4);
  // 1.6.2.1: explicit SBR/PS signalling carries the extension (output) rate, then the core object type.
  if (objectType === 5 || objectType === 29) {
    sampleRate = readRate();
    readObjectType();
  }
  if (b.error) return malformed(`AudioSpecificConfig: ${b.error}`);
  if (objectType === 0) return malformed('AudioSpecificConfig: object type 0');
  if (sampleRate <= 0) return malformed('AudioSpecificConfig: reserved sampling frequency index');
  // Table 1.19: configurations 1-6 have that many channels, 7 is 7.1 (8 channels); 0 = in the PCE (assume 2).
  const channelCount = channelConfig === 7 ? 8 : channelConfig === 0 ? 2 : channelConfig;
  if (channelConfig > 7)
    return malformed(`AudioSpecificConfig: reserved channel configuration ${channelConfig}`);
  return parsed({ objectType, sampleRate, channelCount });
}

/** A two-byte AudioSpecificConfig (object type < 31, a table sample rate, channels 1-7). */
export function buildAudioSpecificConfig(cfg: {
  objectType: number;
  sampleRate: number;
  channelConfig: number;
}): Uint8Array {
  let index = AAC_SAMPLE_RATES.indexOf(cfg.sampleRate);
  if (index < 0) index = 4; // unreachable for ADTS input (its index comes from the table); 44.1 kHz as a fallback
  const bits = ((cfg.objectType & 0x1f) << 11) | (index << 7) | ((cfg.channelConfig & 0xf) << 3);
  return new ByteWriter(2).u16(bits).finish();
}

/** RFC 6381 section 3.3 / ISO 14496-3: `mp4a.40.` + audio object type. */
export function aacCodecString(asc: Uint8Array): string {
  const cfg = parseAudioSpecificConfig(asc);
  return `mp4a.40.${cfg.ok ? cfg.value.objectType : 2}`;
}

export interface AdtsHeader {
  objectType: number;
  sampleRate: number;
  samplingFrequencyIndex: number;
  channelConfig: number;
  /** Header + payload bytes. */
  frameLength: number;
  headerLength: number;
  /** number_of_raw_data_blocks_in_frame + 1 (each block is 1024 samples). */
  rawDataBlocks: number;
}

export interface AdtsFrame {
  /** The raw AAC frame, without the ADTS header or CRC (a view into the input). */
  data: Uint8Array;
  header: AdtsHeader;
}

/** Reads an ADTS fixed + variable header at `bytes[0]` (1.A.2.2.1); undefined when it is not one. */
export function parseAdtsHeader(bytes: Uint8Array): AdtsHeader | undefined {
  if (bytes.byteLength < 7) return undefined;
  const b = (i: number) => bytes[i] ?? 0;
  if (b(0) !== 0xff || (b(1) & 0xf6) !== 0xf0) return undefined; // syncword, layer 00
  const protectionAbsent = b(1) & 1;
  const objectType = ((b(2) >> 6) & 3) + 1;
  const samplingFrequencyIndex = (b(2) >> 2) & 0xf;
  const channelConfig = ((b(2) & 1) << 2) | (b(3) >> 6);
  const frameLength = ((b(3) & 3) << 11) | (b(4) << 3) | (b(5) >> 5);
  const rawDataBlocks = (b(6) & 3) + 1;
  const headerLength = protectionAbsent ? 7 : 9;
  const sampleRate = AAC_SAMPLE_RATES[samplingFrequencyIndex];
  if (sampleRate === undefined || frameLength < headerLength) return undefined;
  return {
    objectType,
    sampleRate,
    samplingFrequencyIndex,
    channelConfig,
    frameLength,
    headerLength,
    rawDataBlocks,
  };
}

/**
 * Splits ADTS frames out of `bytes`. An incomplete frame at the end is returned as `rest` (prepend it to the
 * next chunk); bytes that are not a frame are skipped to the next syncword and counted in `skipped`.
 */
export function parseAdtsFrames(bytes: Uint8Array): {
  frames: AdtsFrame[];
  rest: Uint8Array;
  skipped: number;
} {
  const frames: AdtsFrame[] = [];
  let at = 0;
  let skipped = 0;
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < 7) break; // a header cut short: wait for more
    const header = parseAdtsHeader(bytes.subarray(at));
    if (!header) {
      at++;
      skipped++;
      continue;
    }
    if (at + header.frameLength > bytes.byteLength) break;
    frames.push({ data: bytes.subarray(at + header.headerLength, at + header.frameLength), header });
    at += header.frameLength;
  }
  return { frames, rest: bytes.subarray(at), skipped };
}

/** AudioSpecificConfig equivalent to an ADTS header (profile + 1 is the object type, 1.A.2.2.1). */
export function ascFromAdts(header: AdtsHeader): Uint8Array {
  return buildAudioSpecificConfig({
    objectType: header.objectType,
    sampleRate: header.sampleRate,
    channelConfig: header.channelConfig,
  });
}
