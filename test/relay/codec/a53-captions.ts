/**
 * CEA-608 captions as ATSC A/53 cc_data in H.264 SEI, built byte by byte (Debian's ffmpeg has no caption
 * encoder), and put into real libx264 access units. ffprobe reading `closed_captions=1` back from what ffmpeg
 * then muxes is the check that these bytes are what decoders expect, independent of the relay's parser.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpeg, makeElementaryStreams, type TestStreamOptions } from '../../support/ffmpeg.ts';

/** One cc_data() triplet: cc_valid 1, cc_type 0 (NTSC field 1, CEA-608), two bytes with odd parity. */
export type CcPair = readonly [number, number];

/** EDM (erase displayed memory) on CC1: 0x14 0x2c with odd parity. */
export const EDM: CcPair = [0x94, 0x2c];

export interface A53Options {
  /** Default 0x47413934 'GA94'. */
  userIdentifier?: number;
  /** Default 3 (cc_data). */
  userDataTypeCode?: number;
  /** Default true. */
  processCcData?: boolean;
}

/**
 * An SEI NAL unit (nal_unit_type 6) with one user_data_registered_itu_t_t35 message (payloadType 4): country
 * 0xB5, provider 0x0031, user identifier, user_data_type_code, cc_data() with `pairs`; rbsp_trailing_bits.
 * Emulation prevention is added as 7.4.1 requires.
 */
export function a53CaptionSei(pairs: readonly CcPair[], o: A53Options = {}): Uint8Array {
  const id = o.userIdentifier ?? 0x47413934;
  const ccData = [
    ((o.processCcData ?? true) ? 0xc0 : 0x80) | pairs.length, // reserved 1, process_cc_data_flag, zero_bit, cc_count
    0xff, // reserved (em_data)
    ...pairs.flatMap(([a, b]) => [0xfc, a, b]), // marker_bits 11111, cc_valid 1, cc_type 00
    0xff, // marker_bits
  ];
  const payload = [0xb5, 0x00, 0x31, id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
  payload.push(o.userDataTypeCode ?? 3, ...ccData);
  return Uint8Array.from([0x06, ...emulationPrevented([0x04, payload.length, ...payload]), 0x80]);
}

/** An SEI NAL unit with one user_data_unregistered message (payloadType 5), as x264 writes its version. */
export function unregisteredSei(text: string): Uint8Array {
  const body = [...new Uint8Array(16).fill(0x11), ...Buffer.from(text)];
  const size = body.length >= 255 ? [0xff, body.length - 255] : [body.length];
  return Uint8Array.from([0x06, ...emulationPrevented([0x05, ...size, ...body]), 0x80]);
}

function emulationPrevented(bytes: readonly number[]): number[] {
  const out: number[] = [];
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out;
}

/** The NAL units of an Annex B stream (3- or 4-byte start codes; trailing zeros dropped). */
function annexBNals(bytes: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < bytes.byteLength; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) starts.push(i + 3);
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : bytes.byteLength;
    while (end > s && bytes[end - 1] === 0) end--;
    return bytes.subarray(s, end);
  });
}

/** `sei` before the first slice of every access unit (7.4.1.2.3: SEI precedes the primary coded picture). */
export function withSeiInEveryAccessUnit(h264: Uint8Array, sei: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let inserted = false;
  for (const nal of annexBNals(h264)) {
    const type = nal[0]! & 0x1f;
    if (type === 9) inserted = false; // access unit delimiter: a new access unit
    if ((type === 1 || type === 5) && !inserted) {
      out.push(Uint8Array.of(0, 0, 0, 1), sei);
      inserted = true;
    }
    out.push(Uint8Array.of(0, 0, 0, 1), nal);
  }
  return Buffer.concat(out);
}

/**
 * libx264 video (no B-frames, AUDs) and AAC, with `captions` in every access unit or none, remuxed by ffmpeg
 * (`-c copy`) into `dir/{name}.ts` and `dir/{name}.flv`.
 */
export async function makeCaptionedFiles(
  dir: string,
  name: string,
  captions: boolean,
  opts: Partial<TestStreamOptions> = {},
): Promise<{ ts: string; flv: string }> {
  const { h264, adts, options } = await makeElementaryStreams(dir, { bframes: 0, ...opts });
  const video = join(dir, `${name}.h264`);
  const audio = join(dir, `${name}.adts`);
  const sei = a53CaptionSei([EDM, [0x80, 0x80]]);
  await writeFile(video, captions ? withSeiInEveryAccessUnit(h264, sei) : h264);
  await writeFile(audio, adts);
  const files = { ts: join(dir, `${name}.ts`), flv: join(dir, `${name}.flv`) };
  for (const [format, file] of [['mpegts', files.ts] as const, ['flv', files.flv] as const]) {
    // biome-ignore format: argument pairs
    await ffmpeg([
      '-fflags', '+genpts', '-f', 'h264', '-framerate', String(options.fps), '-i', video, '-i', audio,
      '-map', '0:v', '-map', '1:a', '-c', 'copy', '-f', format, file,
    ]);
  }
  return files;
}

export async function readBytes(file: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(file));
}

/** ffprobe decodes `file`'s video: how many frames there are, and how many carry A/53 captions side data. */
export async function probeCaptionedFrames(file: string): Promise<{ frames: number; captioned: number }> {
  // biome-ignore format: argument pairs
  const { stdout } = await promisify(execFile)('ffprobe', [
    '-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts:frame_side_data=side_data_type',
    '-of', 'json', file,
  ], { maxBuffer: 64 * 1024 * 1024 });
  type Frame = { side_data_list?: { side_data_type?: string }[] };
  const frames = (JSON.parse(stdout) as { frames: Frame[] }).frames;
  const a53 = (f: Frame) => (f.side_data_list ?? []).some((d) => d.side_data_type?.includes('A53') === true);
  return { frames: frames.length, captioned: frames.filter(a53).length };
}
