/**
 * Reads FLV files in tests (Adobe Video File Format Specification v10.1, E.2-E.4.1): header, then tags with
 * back pointers. Used to drive the FLV demuxer and RTMP publishers with bytes ffmpeg wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FlvTag {
  /** 8 audio, 9 video, 18 script data. */
  type: number;
  /** Milliseconds, 32 bits (TimestampExtended is the high byte). */
  timestamp: number;
  body: Uint8Array;
}

export function readFlvTags(file: Uint8Array): FlvTag[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const tags: FlvTag[] = [];
  let at = view.getUint32(5) + 4;
  while (at + 11 <= file.byteLength) {
    const type = file[at]! & 0x1f;
    const size = view.getUint32(at) & 0xffffff;
    const timestamp = ((file[at + 7]! << 24) | (view.getUint32(at + 3) & 0xffffff)) >>> 0;
    tags.push({ type, timestamp, body: file.subarray(at + 11, at + 11 + size) });
    at += 11 + size + 4;
  }
  return tags;
}

/**
 * Writes an FLV clip of testsrc2 320x240@30 + a sine, H.264 (1 s GOP, `bframes` B-frames) and AAC, made by
 * ffmpeg, to `dir/clip.flv`, and returns its path.
 */
export function writeFlvClip(dir: string, opts: { seconds: number; bframes: number }): string {
  const file = join(dir, 'clip.flv');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=44100'],
    ...[
      '-c:v',
      'libx264',
      '-bf',
      String(opts.bframes),
      '-g',
      '30',
      '-c:a',
      'aac',
      '-t',
      String(opts.seconds),
    ],
    file,
  ]);
  return file;
}

/** The tags of such a clip (made in a temporary folder, removed again). */
export function makeFlvClip(opts: { seconds: number; bframes: number }): FlvTag[] {
  const dir = mkdtempSync(join(tmpdir(), 'flv-clip-'));
  try {
    return readFlvTags(readFileSync(writeFlvClip(dir, opts)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
