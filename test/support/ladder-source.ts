/**
 * Pre-encoded sources for the ladder's end-to-end tests (issue 12): a test pattern and a tone, encoded once per
 * machine and cached, then published in real time with `-re -c copy`, so the ladder's ffmpeg is the only live
 * x264 on the box. Encoded as contribution encoders (OBS) do: B-frames, 1 s GOPs, AAC.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder, run } from './e2e.ts';

const SIZES = {
  480: { size: '854x480', bitrate: '1500k' },
  720: { size: '1280x720', bitrate: '3000k' },
} as const;

export type SourceHeight = keyof typeof SIZES;

/** Seconds in the cached file; publishing loops it. */
const FIXTURE_SECONDS = 20;

/** The cached source file for `height` (encoded on first use, about 10-20 s of CPU). */
export async function ladderSource(height: SourceHeight): Promise<string> {
  const dir = join(tmpdir(), 'edge-live-fixtures');
  const file = join(dir, `ladder-source-${height}p30-v1.flv`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const { size, bitrate } = SIZES[height];
  const partial = `${file}.${process.pid}.partial`;
  // biome-ignore format: argument pairs
  const res = await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=${FIXTURE_SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${FIXTURE_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-bf', '2',
    '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', bitrate,
    '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', partial,
  ], 120_000);
  if (res.code !== 0) throw new Error(`encoding the ${height}p source failed: ${res.stderr}`);
  await rename(partial, file);
  return file;
}

/** Publishes `file` in real time, looped, for `seconds`, without re-encoding. */
export function publishFile(file: string, url: string, format: 'flv' | 'mpegts', seconds: number): Encoder {
  // biome-ignore format: argument pairs
  const args = [
    '-hide_banner', '-loglevel', 'warning', '-nostdin', '-re', '-stream_loop', '-1', '-i', file,
    '-t', String(seconds), '-c', 'copy', ...(format === 'mpegts' ? ['-bsf:v', 'h264_mp4toannexb'] : []),
    '-f', format, url,
  ];
  return new Encoder(spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
}
