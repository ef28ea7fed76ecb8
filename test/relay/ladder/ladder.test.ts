/**
 * The ladder with real ffmpeg (issue 12): rungs cut where the source was cut, readable by ffmpeg, the source's
 * audio copied in; a killed ffmpeg turns into gaps and the rung rejoins at a keyframe; no ffmpeg, no rungs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PartOutput } from '../../../ingest-relay/src/cmaf/output.ts';
import type { RungOutput } from '../../../ingest-relay/src/ladder/ladder.ts';
import { type ResolvedRung, resolveLadder } from '../../../src/contract/ladder.ts';
import { decodeErrors, withTempDir } from '../../support/ffmpeg.ts';
import { makeSourceTs, runLadderPipeline, writeRendition } from './pipeline.ts';

const run = promisify(execFile);

let source: Uint8Array;
let msSource: Uint8Array;
beforeAll(async () => {
  await withTempDir(async (dir) => {
    source = await makeSourceTs(dir, 4);
    msSource = await makeSourceTs(dir, 3, true);
  });
}, 60_000);

const RUNGS: ResolvedRung[] = [
  { name: '360p', height: 360, width: 640, videoBitrate: 800_000, frameRate: 30 },
  { name: '240p', height: 240, width: 426, videoBitrate: 400_000, frameRate: 30 },
];

function parts(outs: readonly RungOutput[]): PartOutput[] {
  return outs.flatMap((o) => (o.type === 'part' ? [o.part] : []));
}

async function videoPackets(file: string): Promise<{ pts: number; key: boolean }[]> {
  // biome-ignore format: argument pairs
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts,flags', '-of', 'csv=p=0', file,
  ]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [pts, flags] = line.split(',');
      return { pts: Number(pts), key: (flags ?? '').includes('K') };
    });
}

describe('the ladder', () => {
  it('resolves the standard ladder of a 480p source to one 360p rung', () => {
    expect(resolveLadder('standard', { width: 854, height: 480, frameRate: 30 })).toEqual([
      { name: '360p', height: 360, width: 640, videoBitrate: 800_000, frameRate: 30 },
    ]);
  });

  it('cuts every rung where the source was cut, with keyframes where the source has them', async () => {
    const result = await runLadderPipeline(source, { rungs: RUNGS, ladder: { gapAfterMs: 60_000 } });
    expect(result.source.length).toBeGreaterThan(10);
    await withTempDir(async (dir) => {
      const sourceFile = await writeRendition(
        dir,
        'source',
        result.sourceInit,
        result.source.map((p) => p.bytes),
      );
      const sourceKeys = (await videoPackets(sourceFile)).filter((p) => p.key).map((p) => p.pts);
      for (const rung of RUNGS) {
        const outs = result.rungs.get(rung.name) ?? [];
        const init = outs.find((o) => o.type === 'init');
        expect(init?.type === 'init' && init.init.resolution).toBe(`${rung.width}x${rung.height}`);
        expect(outs.filter((o) => o.type === 'gap')).toEqual([]);
        const rungParts = parts(outs);
        // Part for part: the same numbers, durations, INDEPENDENT flags, segment ends and PDT as the source's.
        const fields = (p: PartOutput) => [
          p.msn,
          p.part,
          p.duration,
          p.independent,
          p.segmentEnd,
          p.programDateTime,
        ];
        expect(rungParts.map(fields)).toEqual(result.source.map(fields));
        // The source's audio, copied: the same samples in every part.
        expect(rungParts.map((p) => p.media.audio.length)).toEqual(
          result.source.map((p) => p.media.audio.length),
        );
        if (init?.type !== 'init') throw new Error('no init');
        const file = await writeRendition(
          dir,
          rung.name,
          init.init.bytes,
          rungParts.map((p) => p.bytes),
        );
        expect(await decodeErrors(file)).toBe('');
        const packets = await videoPackets(file);
        expect(packets.length).toBe((await videoPackets(sourceFile)).length);
        expect(packets.filter((p) => p.key).map((p) => p.pts)).toEqual(sourceKeys);
      }
    });
  }, 60_000);

  it('keeps the millisecond timestamps of an RTMP source exactly, so the rung joins at the first part', async () => {
    const result = await runLadderPipeline(msSource, {
      rungs: RUNGS.slice(0, 1),
      ladder: { gapAfterMs: 60_000 },
    });
    const outs = result.rungs.get('360p') ?? [];
    expect(outs.filter((o) => o.type === 'gap')).toEqual([]);
    expect(parts(outs).map((p) => [p.msn, p.part])).toEqual(result.source.map((p) => [p.msn, p.part]));
  }, 60_000);

  it('caps a rung at maxFrameRate by keeping every other frame and every keyframe', async () => {
    const capped: ResolvedRung = {
      name: '180p',
      height: 180,
      width: 320,
      videoBitrate: 300_000,
      maxFrameRate: 15,
      frameRate: 15,
    };
    const result = await runLadderPipeline(msSource, {
      rungs: [capped],
      ladder: { gapAfterMs: 60_000, sourceFrameRate: 30 },
    });
    const outs = result.rungs.get('180p') ?? [];
    expect(outs.filter((o) => o.type === 'gap')).toEqual([]);
    const rungParts = parts(outs);
    expect(rungParts.map((p) => [p.msn, p.part, p.duration])).toEqual(
      result.source.map((p) => [p.msn, p.part, p.duration]),
    );
    await withTempDir(async (dir) => {
      const init = outs.find((o) => o.type === 'init');
      if (init?.type !== 'init') throw new Error('no init');
      const file = await writeRendition(
        dir,
        '180p',
        init.init.bytes,
        rungParts.map((p) => p.bytes),
      );
      expect(await decodeErrors(file)).toBe('');
      const frames = (await videoPackets(file)).length;
      const sourceFile = await writeRendition(
        dir,
        'source',
        result.sourceInit,
        result.source.map((p) => p.bytes),
      );
      const sourceFrames = (await videoPackets(sourceFile)).length;
      expect(frames).toBeGreaterThanOrEqual(sourceFrames / 2);
      expect(frames).toBeLessThan(sourceFrames * 0.6);
    });
  }, 60_000);

  it('publishes gaps while ffmpeg is down and rejoins at a keyframe after its restart', async () => {
    let killed = false;
    const result = await runLadderPipeline(source, {
      rungs: RUNGS.slice(0, 1),
      paced: true,
      onProgress: async (mediaSec) => {
        if (killed || mediaSec < 0.8) return;
        killed = true;
        // The real process, killed from outside as the OOM killer or an operator would.
        await run('pkill', ['-KILL', '-P', String(process.pid), 'ffmpeg']);
      },
    });
    expect(killed).toBe(true);
    const outs = (result.rungs.get('360p') ?? []).filter((o) => o.type !== 'init');
    const kinds = outs.map((o) => o.type).join(' ');
    // Real parts, then gaps while ffmpeg is down (1 s backoff), then real parts again from a keyframe.
    expect(kinds).toMatch(/^(part )+(gap )+(part ?)+$/);
    const rejoin = outs.findIndex((o, i) => i > 0 && o.type === 'part' && outs[i - 1]?.type === 'gap');
    const first = outs[rejoin];
    expect(first?.type === 'part' && first.part.independent).toBe(true);
    // Every source part has a rung part or a gap with the same numbers: MSNs contiguous and aligned.
    const numbers = (o: RungOutput) => (o.type === 'init' ? [] : [o.part.msn, o.part.part]);
    expect(outs.map(numbers)).toEqual(result.source.map((p) => [p.msn, p.part]));
    expect(result.ladder?.health().rungs[0]?.restarts).toBe(1);
  }, 60_000);

  it('leaves the session with its source only when ffmpeg cannot start', async () => {
    const result = await runLadderPipeline(source, {
      rungs: RUNGS,
      ladder: { ffmpegPath: '/nonexistent/ffmpeg' },
    });
    expect(result.source.length).toBeGreaterThan(10);
    for (const outs of result.rungs.values()) expect(outs).toEqual([]);
    const health = result.ladder?.health();
    expect(health?.state).toBe('unavailable');
    expect(health?.reason).toMatch(/ffmpeg could not start/);
  }, 60_000);
});
