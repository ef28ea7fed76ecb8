/**
 * The rewritten two-session file, read by an independent decoder: ffprobe and ffmpeg must take it with no
 * error and see both sessions' time (2 x 4.02 s), where plain concatenation of the same bytes has a 108-hour hole.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeErrors, ffprobeJson, withTempDir } from '../../support/ffmpeg.ts';
import { concat, init, rewriteRun, sessionA, sessionB } from './fixture-run.ts';

interface Probe {
  format: { duration: string };
  streams: { codec_type: string; duration: string; start_time: string }[];
}

async function probe(
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<{ probe: Probe; errors: string }> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return { probe: (await ffprobeJson(file)) as Probe, errors: await decodeErrors(file) };
}

describe('MP4 download across a reconnect, by ffprobe', () => {
  it('is one valid file as long as its two sessions, each stream starting at 0', async () => {
    await withTempDir(async (dir) => {
      // One session alone: 4.0 s of video, 4.0213 s of audio (ffmpeg's AAC runs past the last frame).
      const { probe: one } = await probe(dir, 'one.mp4', concat([init, ...sessionA]));
      const { probe: run, errors } = await probe(dir, 'run.mp4', rewriteRun());
      expect(errors).toBe('');
      expect(Number(run.format.duration)).toBeCloseTo(2 * Number(one.format.duration), 3);
      for (const s of run.streams) {
        const single = one.streams.find((o) => o.codec_type === s.codec_type);
        expect(Number(s.start_time), s.codec_type).toBe(0);
        // Each stream holds both sessions; video also holds the < 1 frame wait for session A's audio to end.
        expect(Number(s.duration), s.codec_type).toBeGreaterThanOrEqual(2 * Number(single?.duration) - 0.001);
        expect(Number(s.duration), s.codec_type).toBeLessThanOrEqual(Number(run.format.duration));
      }
    });
  }, 60_000);

  it('plain concatenation of the same bytes is what the rewrite prevents', async () => {
    await withTempDir(async (dir) => {
      const { probe: p } = await probe(dir, 'concat.mp4', concat([init, ...sessionA, ...sessionB]));
      expect(Number(p.format.duration)).toBeGreaterThan(390_000);
    });
  }, 60_000);
});
