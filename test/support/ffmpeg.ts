/**
 * Small helpers to run Debian's ffmpeg and ffprobe from relay tests: make real H.264 / AAC bytes, and read a
 * file back with an independent decoder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ffmpeg(args: readonly string[], timeoutMs = 60_000): Promise<{ stderr: string }> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-y', ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stderr };
}

export async function ffprobeJson(file: string): Promise<unknown> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file],
    { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout);
}

/** Decodes `file` fully (`ffmpeg -v error -i file -f null -`) and returns what ffmpeg wrote on stderr. */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-'], {
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stderr.trim();
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface TestStreamOptions {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** Keyframe interval in frames. */
  gop: number;
  /** x264 B-frames (0 = none, pts == dts). */
  bframes: number;
  profile: 'baseline' | 'main' | 'high';
  audioRate: number;
  audioChannels: number;
}

export const defaultStream: TestStreamOptions = {
  seconds: 4,
  width: 320,
  height: 180,
  fps: 30,
  gop: 30,
  bframes: 2,
  profile: 'high',
  audioRate: 48000,
  audioChannels: 2,
};

/**
 * Encodes a synthetic test pattern + tone with libx264 and aac into an Annex B `.h264` elementary stream and
 * an `.adts` stream: the same bytes an MPEG-TS demuxer would hand over.
 */
export async function makeElementaryStreams(
  dir: string,
  opts: Partial<TestStreamOptions> = {},
): Promise<{ h264: Uint8Array; adts: Uint8Array; options: TestStreamOptions }> {
  const o = { ...defaultStream, ...opts };
  const h264 = join(dir, 'video.h264');
  const adts = join(dir, 'audio.adts');
  await ffmpeg([...x264Args(o), '-x264-params', 'aud=1', '-f', 'h264', h264]);
  // biome-ignore format: argument pairs
  await ffmpeg([
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${o.audioRate}:duration=${o.seconds}`,
    '-ac', String(o.audioChannels), '-c:a', 'aac', '-b:a', '96k', '-f', 'adts', adts,
  ]);
  return {
    h264: new Uint8Array(await readFile(h264)),
    adts: new Uint8Array(await readFile(adts)),
    options: o,
  };
}

/** libx264 from a synthetic test pattern with `o`'s size, rate, GOP, B-frames and profile. */
function x264Args(o: TestStreamOptions): string[] {
  // biome-ignore format: argument pairs
  return [
    '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}:duration=${o.seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', o.profile, '-pix_fmt', 'yuv420p',
    '-g', String(o.gop), '-keyint_min', String(o.gop), '-sc_threshold', '0', '-bf', String(o.bframes),
  ];
}

/** The same video straight into MP4, so each sample's pts/dts come from the encoder (ffprobe reads them). */
export async function makeVideoMp4(dir: string, opts: Partial<TestStreamOptions> = {}): Promise<string> {
  const file = join(dir, 'video.mp4');
  await ffmpeg([...x264Args({ ...defaultStream, ...opts }), '-x264-params', 'aud=1', file]);
  return file;
}
