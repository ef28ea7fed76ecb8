/**
 * The CMAF segmenter: demux events in, a CMAF header and LL-HLS parts (moof+mdat) out. Pure: no clock, no I/O;
 * wall-clock time only comes in on the samples (`receivedAt`). It wires the stages, each in its own module:
 *
 *   start-gate       hold units until the tracks are known (first keyframe, both configs or `trackWait`)
 *   sample-timing    access units -> samples on the output timeline (video held back one for its duration)
 *   part-cutter      samples of the primary track -> closed parts and segments (gop-plan: keyframes open parts)
 *   audio-interleave audio samples into the closed video part whose span holds them
 *   output           the init segment and each part's fragment bytes
 *
 * Parts are cut on the video track, or on audio when there is no video. The codec facts it needs (frame rate,
 * SAR, AAC object type) come on the track configs, as the demuxer parsed them. A config that changes after the
 * start (a new resolution) ends the segmenter: one init per session (`config-changed` in output.ts).
 */
import { sameBytes } from '../codec/bytes.ts';
import type { AccessUnit, DemuxEvent, TrackConfig } from '../media/access-unit.ts';
import { AudioInterleave } from './audio-interleave.ts';
import type { MuxTrack } from './init-segment.ts';
import { initOutput, muxTracks, PartWriter, type SegmenterOutput } from './output.ts';
import { PartCutter } from './part-cutter.ts';
import { AudioTiming, aacFrameTicks, type Sample, VideoTiming } from './sample-timing.ts';
import { StartGate, type TrackStart } from './start-gate.ts';

export type { InitOutput, PartOutput, SegmenterOutput } from './output.ts';

export interface SegmenterOptions {
  /** Seconds; every part is at most this long. */
  partTarget: number;
  /** Seconds; a segment closes on the first keyframe at or after this. */
  segmentTarget: number;
  /** Media sequence number of the first segment. */
  firstMsn: number;
  /** Seconds of media to wait for the other track's config before starting with one track (default 1). */
  trackWait?: number;
  /** Seconds of video a closed part waits for audio that is behind (default 0.5). */
  audioWait?: number;
  /**
   * Sees each video sample as it is accepted onto the output timeline (before its part is cut; its duration is
   * not known yet), with the stream's output tracks: the ladder feeds its transcoder from here.
   */
  onVideoSample?: (sample: Sample, tracks: readonly MuxTrack[]) => void;
}

export interface SegmenterStats {
  droppedBeforeKeyframe: number;
  droppedNonMonotonic: number;
  droppedWithoutTrack: number;
  audioResyncs: number;
  pdtReanchors: number;
}

/** The stages once the tracks are known. */
interface Running {
  tracks: MuxTrack[];
  /** The track parts are cut on: video, or audio when there is no video. */
  primary: MuxTrack;
  video: VideoTiming | undefined;
  audio: AudioTiming | undefined;
  cutter: PartCutter;
  /** Audio waiting for its video part; absent without video or without audio. */
  interleave: AudioInterleave | undefined;
  writer: PartWriter;
}

export class CmafSegmenter {
  readonly #o: Required<Omit<SegmenterOptions, 'onVideoSample'>>;
  readonly #onVideoSample: SegmenterOptions['onVideoSample'];
  readonly stats: SegmenterStats = {
    droppedBeforeKeyframe: 0,
    droppedNonMonotonic: 0,
    droppedWithoutTrack: 0,
    audioResyncs: 0,
    pdtReanchors: 0,
  };
  readonly #gate: StartGate;
  #run: Running | undefined;
  /** A config changed: the last part is out, nothing more is taken. */
  #stopped = false;

  constructor(options: SegmenterOptions) {
    const { onVideoSample, ...rest } = options;
    this.#o = { trackWait: 1, audioWait: 0.5, ...rest };
    this.#onVideoSample = onVideoSample;
    this.#gate = new StartGate(this.#o.trackWait, this.stats);
  }

  get audioOnly(): boolean {
    return this.#run !== undefined && this.#run.video === undefined;
  }

  /** Demux `error` and `ignored-track` events are the session's business and are ignored here. */
  push(ev: DemuxEvent): SegmenterOutput[] {
    if (this.#stopped || (ev.type !== 'config' && ev.type !== 'unit')) return [];
    const out: SegmenterOutput[] = [];
    if (ev.type === 'config') this.#config(ev.track, out);
    else if (!this.#run) this.#begin(this.#gate.push(ev.unit), out);
    else this.#unit(this.#run, ev.unit, out);
    return out;
  }

  /** End of stream: start if possible, place the held-back samples, close the last part as a segment end. */
  flush(): SegmenterOutput[] {
    if (this.#stopped) return [];
    const out: SegmenterOutput[] = [];
    if (!this.#run) this.#begin(this.#gate.flush(), out);
    const run = this.#run;
    if (!run) return out;
    const last = run.video?.flush();
    if (last) run.cutter.place(last);
    run.cutter.close(true);
    this.#emit(run, out, true);
    return out;
  }

  #config(track: TrackConfig, out: SegmenterOutput[]): void {
    const current = this.#gate.declared(track.kind);
    if (current && this.#run) {
      const before = current.kind === 'video' ? current.avcC : current.audioSpecificConfig;
      const after = track.kind === 'video' ? track.avcC : track.audioSpecificConfig;
      if (!sameBytes(before, after)) this.#changed(current, track, out);
      return;
    }
    if (this.#run) return; // a track that appears after the start is not in the init segment: ignored
    this.#gate.config(track);
  }

  /** The tracks are known: the init segment, then the held units through the stages. */
  #begin(start: TrackStart | undefined, out: SegmenterOutput[]): void {
    if (!start) return;
    const run = stages(start, this.#o, this.stats);
    this.#run = run;
    out.push(initOutput(run.tracks));
    for (const u of start.units) this.#unit(run, u, out);
  }

  #unit(run: Running, unit: AccessUnit, out: SegmenterOutput[]): void {
    if (unit.kind === 'video') {
      if (!run.video) {
        this.stats.droppedWithoutTrack++;
        return;
      }
      const pushed = run.video.push(unit);
      if (!pushed.accepted) return;
      if (this.#onVideoSample && run.video.held) this.#onVideoSample(run.video.held, run.tracks);
      if (pushed.complete) run.cutter.place(pushed.complete);
      if (run.video.held) run.cutter.closeAhead(run.video.held);
      this.#emit(run, out, false);
      return;
    }
    if (!run.audio) {
      this.stats.droppedWithoutTrack++;
      return;
    }
    const sample = run.audio.push(unit);
    if (!sample) return;
    if (run.interleave) run.interleave.push(sample);
    else run.cutter.place(sample);
    this.#emit(run, out, false);
  }

  /** Emits closed parts once the audio for their span has arrived (or waited long enough, or at the end). */
  #emit(run: Running, out: SegmenterOutput[], final: boolean): void {
    const closed = run.cutter.closed;
    while (closed.length > 0) {
      const part = closed[0]!;
      let audio: Sample[] = [];
      if (run.interleave) {
        const held = run.video?.held;
        const taken = run.interleave.take(part, {
          audioEnd: run.audio?.end,
          videoAtSec: held ? held.dts / run.primary.timescale : undefined,
          final,
          last: closed.length === 1,
        });
        if (!taken) return;
        audio = taken;
      }
      closed.shift();
      out.push(run.writer.write(part, audio));
    }
  }

  /** The last part closes as a segment end, then `config-changed` (output.ts); later input is not taken. */
  #changed(before: TrackConfig, after: TrackConfig, out: SegmenterOutput[]): void {
    out.push(...this.flush());
    this.#stopped = true;
    out.push({ type: 'config-changed', kind: after.kind, before, after });
  }
}

/** The stages for the tracks `start` decided; every counter they keep goes to `stats`. */
function stages(
  start: TrackStart,
  o: Required<Omit<SegmenterOptions, 'onVideoSample'>>,
  stats: SegmenterStats,
): Running {
  const tracks = muxTracks([start.video, start.audio].filter((c) => c !== undefined));
  const primary = tracks[0]!;
  const video = tracks.find((t) => t.config.kind === 'video');
  const audio = tracks.find((t) => t.config.kind === 'audio');
  const timing = (t: MuxTrack) => ({
    inScale: t.config.timescale,
    outScale: t.timescale,
    originSec: start.originSec,
  });
  const cutter = new PartCutter(
    {
      timescale: primary.timescale,
      partTarget: o.partTarget,
      segmentTarget: o.segmentTarget,
      firstMsn: o.firstMsn,
      video: video !== undefined,
    },
    stats,
  );
  return {
    tracks,
    primary,
    video: video && new VideoTiming(timing(video), stats),
    audio:
      start.audio && audio && new AudioTiming(timing(audio), aacFrameTicks(start.audio.objectType), stats),
    cutter,
    interleave: video && audio && new AudioInterleave(audio.timescale, o.audioWait),
    writer: new PartWriter(primary, video && audio),
  };
}
