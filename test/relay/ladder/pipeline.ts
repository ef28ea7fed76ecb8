/**
 * The ladder's pipeline as a session runs it, without the network: MPEG-TS bytes -> the relay's TS demuxer ->
 * the CMAF segmenter (source parts) -> the Ladder with real ffmpeg (rung parts). Optionally paced to the
 * media's own clock, as a live encoder would send it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartOutput } from '../../../ingest-relay/src/cmaf/output.ts';
import { CmafSegmenter, type SegmenterOutput } from '../../../ingest-relay/src/cmaf/segmenter.ts';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import { Ladder, type LadderOptions, type RungOutput } from '../../../ingest-relay/src/ladder/ladder.ts';
import { log } from '../../../ingest-relay/src/log.ts';
import type { ResolvedRung } from '../../../src/contract/ladder.ts';
import { ffmpeg } from '../../support/ffmpeg.ts';

export interface PipelineResult {
  sourceInit: Uint8Array;
  source: PartOutput[];
  rungs: Map<string, RungOutput[]>;
  ladder: Ladder | undefined;
}

export interface PipelineOptions {
  rungs: readonly ResolvedRung[];
  partTarget?: number;
  segmentTarget?: number;
  /** Feed the bytes at the media's pace (by video dts), not at once. */
  paced?: boolean;
  ladder?: Partial<LadderOptions>;
  /** Called once per fed chunk with the media time fed so far (seconds). */
  onProgress?: (mediaSec: number, result: PipelineResult) => void | Promise<void>;
}

export async function runLadderPipeline(ts: Uint8Array, o: PipelineOptions): Promise<PipelineResult> {
  const result: PipelineResult = {
    sourceInit: new Uint8Array(0),
    source: [],
    rungs: new Map(),
    ladder: undefined,
  };
  for (const r of o.rungs) result.rungs.set(r.name, []);
  const segmenter = new CmafSegmenter({
    partTarget: o.partTarget ?? 0.333,
    segmentTarget: o.segmentTarget ?? 2,
    firstMsn: 0,
    onVideoSample: (sample, tracks) => {
      result.ladder ??= new Ladder({
        rungs: o.rungs,
        partTarget: o.partTarget ?? 0.333,
        ffmpegPath: 'ffmpeg',
        logger: log,
        output: (rung, out) => result.rungs.get(rung.name)?.push(out),
        ...o.ladder,
      });
      result.ladder.videoSample(sample, tracks);
    },
  });
  const take = (outs: SegmenterOutput[]) => {
    for (const out of outs) {
      if (out.type === 'init') result.sourceInit = out.bytes;
      if (out.type !== 'part') continue;
      result.source.push(out);
      result.ladder?.sourcePart(out);
    }
  };
  const demuxer = new TsDemuxer();
  const started = performance.now();
  let firstDts: number | undefined;
  const chunk = 188 * 20;
  for (let at = 0; at < ts.byteLength; at += chunk) {
    let mediaSec = 0;
    for (const ev of demuxer.push(ts.subarray(at, at + chunk), Date.now())) {
      if (ev.type === 'unit' && ev.unit.kind === 'video') {
        firstDts ??= ev.unit.dts;
        mediaSec = (ev.unit.dts - firstDts) / 90_000;
      }
      take(segmenter.push(ev));
    }
    if (o.paced && mediaSec > 0) {
      const wait = started + mediaSec * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await o.onProgress?.(mediaSec, result);
  }
  for (const ev of demuxer.flush()) take(segmenter.push(ev));
  take(segmenter.flush());
  await result.ladder?.end();
  return result;
}

/**
 * A 480p30 source with B-frames, 1 s GOPs and AAC, as MPEG-TS (what an SRT encoder sends). `viaFlv`: through
 * FLV first, so its timestamps are RTMP's whole milliseconds (33, 67, 100 ms: off the 1/30 s grid).
 */
export async function makeSourceTs(dir: string, seconds = 4, viaFlv = false): Promise<Uint8Array> {
  const file = join(dir, 'source.ts');
  const encoded = viaFlv ? join(dir, 'source.flv') : file;
  // biome-ignore format: argument pairs
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=854x480:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30',
    '-sc_threshold', '0', '-bf', '2', '-b:v', '1500k', '-c:a', 'aac', '-b:a', '96k',
    '-f', viaFlv ? 'flv' : 'mpegts', encoded,
  ]);
  if (viaFlv) await ffmpeg(['-i', encoded, '-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'mpegts', file]);
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(file));
}

/** A rendition's init and parts as one fragmented MP4 file, for ffprobe/ffmpeg to read back. */
export async function writeRendition(
  dir: string,
  name: string,
  init: Uint8Array,
  parts: readonly Uint8Array[],
) {
  const file = join(dir, `${name}.mp4`);
  await writeFile(file, Buffer.concat([init, ...parts]));
  return file;
}
