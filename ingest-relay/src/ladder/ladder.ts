/**
 * The ABR ladder of one publishing session (issue 12): the source's video samples -> TS -> one ffmpeg -> each
 * rung's TS -> the relay's demuxer -> a rung cutter that cuts each rung where the source was cut -> CMAF parts
 * (the source's audio copied in) for the session to upload beside the source's.
 *
 * Failures never touch the source rendition: a rung that cannot keep up is published as gaps, an ffmpeg that
 * dies is restarted with backoff (1 s doubling to 30 s) and its rungs rejoin at a keyframe, and an ffmpeg that
 * cannot start at all leaves the session with its source only.
 */
import type { LadderHealth } from '../../../src/contract/health.ts';
import { nominalBandwidth, type ResolvedRung } from '../../../src/contract/ladder.ts';
import type { MuxTrack } from '../cmaf/init-segment.ts';
import { type InitOutput, initOutput, muxTracks, type PartOutput, PartWriter } from '../cmaf/output.ts';
import type { Sample } from '../cmaf/sample-timing.ts';
import type { Logger } from '../log.ts';
import type { DemuxEvent, VideoTrackConfig } from '../media/access-unit.ts';
import { ffmpegLadderArgs } from './ffmpeg-args.ts';
import { RungCutter, type RungPart, type SourceSpan } from './rung-cutter.ts';
import { type RungView, rungHealth } from './rung-health.ts';
import { Transcoder } from './transcoder.ts';
import { TsVideoMuxer } from './ts-mux.ts';

/** What the session uploads for a rung: its init once, then a part or a gap for every source part. */
export type RungOutput =
  | { type: 'init'; init: InitOutput; bandwidth: number }
  | { type: 'part'; part: PartOutput }
  | { type: 'gap'; part: Omit<PartOutput, 'bytes' | 'media' | 'type'> & { type: 'gap' } };

export interface LadderOptions {
  rungs: readonly ResolvedRung[];
  /** Seconds. */
  partTarget: number;
  ffmpegPath: string;
  preset?: string;
  sourceFrameRate?: number;
  /** Monotonic ms (default performance.now). */
  now?: () => number;
  /** A rung's part that is not ready this long after the source's is a gap (ms; default max(1 s, 3 parts)). */
  gapAfterMs?: number;
  /** ffmpeg's unread input past which it is declared behind real time and restarted (bytes, default 16 MiB). */
  maxBacklogBytes?: number;
  logger: Logger;
  output: (rung: ResolvedRung, out: RungOutput) => void;
}

/** Timestamps fed to ffmpeg sit this far above the output timeline (90 kHz ticks): never negative. */
const FEED_OFFSET = 90_000;
const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 30_000;
const TICK_MS = 50;

/** A rung as the ladder runs it; `started`: its first part (a segment's part 0) went out, after its init. */
interface RungRuntime extends RungView {
  cutter: RungCutter;
  writer: PartWriter | undefined;
  videoConfig: VideoTrackConfig | undefined;
}

export class Ladder {
  readonly #o: Required<Omit<LadderOptions, 'sourceFrameRate' | 'preset'>> &
    Pick<LadderOptions, 'sourceFrameRate' | 'preset'>;
  readonly #rungs: RungRuntime[];
  readonly #timer: ReturnType<typeof setInterval>;
  #tracks: readonly MuxTrack[] = [];
  #muxer: TsVideoMuxer | undefined;
  #transcoder: Transcoder | undefined;
  /** The running ffmpeg has been fed from a keyframe on. */
  #fed = false;
  /** The source's reorder delay, 90 kHz ticks: the composition offset of its latest keyframe. */
  #reorder = 0;
  #restarts = 0;
  #restartAt: number | undefined;
  #failure: string | undefined;
  #unavailable: string | undefined;
  #ending = false;

  constructor(options: LadderOptions) {
    this.#o = {
      now: () => performance.now(),
      gapAfterMs: Math.max(1000, 3000 * options.partTarget),
      maxBacklogBytes: 16 * 1024 * 1024,
      ...options,
    };
    this.#rungs = options.rungs.map((rung) => ({
      rung,
      cutter: new RungCutter(this.#o.gapAfterMs),
      writer: undefined,
      started: false,
      videoConfig: undefined,
      lags: [],
      gapParts: 0,
      lastWasGap: false,
    }));
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** A source video sample as the segmenter accepted it: into ffmpeg, from a keyframe on. */
  videoSample(sample: Sample, tracks: readonly MuxTrack[]): void {
    if (this.#ending || this.#unavailable) return;
    this.#tracks = tracks;
    if (!this.#transcoder && this.#restartAt === undefined) this.#start(tracks);
    const t = this.#transcoder;
    if (!t || !this.#muxer) return;
    if (!this.#fed && !sample.sync) return;
    this.#fed = true;
    if (t.backlogBytes > this.#o.maxBacklogBytes) {
      this.#o.logger.warn({ backlogBytes: t.backlogBytes }, 'ladder ffmpeg behind real time: restarting');
      this.#failure = 'ffmpeg fell behind real time';
      t.kill();
      return;
    }
    const dts = sample.dts + FEED_OFFSET;
    t.write(this.#muxer.frame({ dts, pts: dts + sample.cto, keyframe: sample.sync, avcc: sample.data }));
  }

  rungNames(): string[] {
    return this.#rungs.map((r) => r.rung.name);
  }

  /** A source part was cut: each rung cuts its own at the same place. */
  sourcePart(p: PartOutput): void {
    if (p.independent) this.#reorder = p.media.cto;
    const start = p.media.dts + this.#reorder;
    const span: SourceSpan = {
      msn: p.msn,
      part: p.part,
      duration: p.duration,
      independent: p.independent,
      segmentEnd: p.segmentEnd,
      programDateTime: p.programDateTime,
      start,
      end: start + p.media.duration,
      audio: p.media.audio,
      readyAt: this.#o.now(),
    };
    for (const r of this.#rungs) this.#emit(r, r.cutter.span(span, this.#o.now()));
  }

  health(): LadderHealth {
    if (this.#unavailable && !this.#rungs.some((r) => r.started)) {
      return { state: 'unavailable', reason: this.#unavailable, rungs: [] };
    }
    const down = this.#transcoder === undefined;
    const ctx = {
      down,
      reason: this.#unavailable ?? this.#failure,
      restarts: this.#restarts,
      partTarget: this.#o.partTarget,
    };
    return { state: 'active', rungs: this.#rungs.map((r) => rungHealth(r, ctx)) };
  }

  /** End of the source: ffmpeg encodes what it has (up to 3 s), then every rung cuts its last parts. */
  async end(): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    clearInterval(this.#timer);
    const t = this.#transcoder;
    if (t && !t.exited) {
      const exited = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (!t.exited) return;
          clearInterval(poll);
          resolve();
        }, 20);
        setTimeout(() => {
          clearInterval(poll);
          t.kill();
          resolve();
        }, 3000).unref();
      });
      t.end();
      await exited;
    }
    const now = this.#o.now();
    for (const r of this.#rungs) this.#emit(r, r.cutter.lost(now));
  }

  #start(tracks: readonly MuxTrack[]): void {
    const video = tracks.find((t) => t.config.kind === 'video')?.config;
    if (video?.kind !== 'video') return;
    this.#muxer ??= new TsVideoMuxer(video.avcC);
    this.#fed = false;
    const args = ffmpegLadderArgs(this.#o.rungs, {
      preset: this.#o.preset,
      sourceFrameRate: this.#o.sourceFrameRate,
    });
    this.#transcoder = new Transcoder({
      ffmpegPath: this.#o.ffmpegPath,
      args,
      rungCount: this.#rungs.length,
      onEvents: (i, events) => this.#rungEvents(this.#rungs[i]!, events),
      onExit: (reason) => this.#exited(reason),
    });
  }

  #rungEvents(r: RungRuntime, events: DemuxEvent[]): void {
    const now = this.#o.now();
    for (const ev of events) {
      if (ev.type === 'config' && ev.track.kind === 'video') r.videoConfig ??= ev.track;
      if (ev.type !== 'unit' || ev.unit.kind !== 'video') continue;
      const u = ev.unit;
      const frame = {
        dts: u.pts - FEED_OFFSET,
        cto: 0,
        duration: 0,
        data: u.data,
        sync: u.keyframe,
        receivedAt: u.receivedAt,
      };
      this.#emit(r, r.cutter.frame(frame, now));
    }
  }

  #exited(reason: string): void {
    this.#transcoder = undefined;
    if (reason.startsWith('ffmpeg could not start')) {
      this.#unavailable = reason;
      this.#o.logger.warn({ reason }, 'ladder unavailable: source only');
    }
    if (this.#ending) return;
    const now = this.#o.now();
    for (const r of this.#rungs) this.#emit(r, r.cutter.lost(now));
    if (this.#unavailable) return;
    this.#failure = this.#failure ?? reason;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(this.#restarts, 5));
    this.#restarts++;
    this.#restartAt = now + delay;
    this.#o.logger.warn({ reason: this.#failure, restartInMs: delay }, 'ladder ffmpeg exited');
  }

  #tick(): void {
    const now = this.#o.now();
    if (this.#restartAt !== undefined && now >= this.#restartAt && !this.#ending) {
      this.#restartAt = undefined;
      this.#failure = undefined;
      this.#start(this.#tracks);
    }
    for (const r of this.#rungs) this.#emit(r, r.cutter.tick(now));
  }

  #emit(r: RungRuntime, parts: RungPart[]): void {
    for (const p of parts) {
      if (p.type === 'gap') {
        this.#o.logger.debug(
          { rung: r.rung.name, msn: p.span.msn, part: p.span.part, why: p.why },
          'rung gap',
        );
      }
      if (!r.started && !(p.type === 'part' && p.span.part === 0 && this.#initRung(r))) continue;
      r.started = true;
      if (p.type === 'part' && r.writer) {
        r.lags.push(p.lagMs);
        r.lastWasGap = false;
        const cut = { primary: p.video, duration: p.span.end - p.span.start, independent: p.independent };
        const part = r.writer.write(
          {
            ...cut,
            msn: p.span.msn,
            part: p.span.part,
            programDateTime: p.span.programDateTime,
            segmentEnd: p.span.segmentEnd,
            endSec: 0,
          },
          p.span.audio,
        );
        this.#o.output(r.rung, { type: 'part', part });
        continue;
      }
      r.gapParts++;
      r.lastWasGap = true;
      const { msn, part, duration, independent, programDateTime, segmentEnd } = p.span;
      this.#o.output(r.rung, {
        type: 'gap',
        part: { type: 'gap', msn, part, duration, independent, programDateTime, segmentEnd },
      });
    }
  }

  /**
   * The rung's init, just before its first part: the rung's video and the source's audio. The rung declares
   * captions when the source does: ffmpeg's decoder hands the source's A/53 cc_data to libx264, which writes it
   * into every rung's SEI (`a53cc`, on by default).
   */
  #initRung(r: RungRuntime): boolean {
    if (!r.videoConfig) return false;
    const source = this.#tracks.find((t) => t.config.kind === 'video')?.config;
    const closedCaptions = source?.kind === 'video' && source.closedCaptions === true;
    const video = { ...r.videoConfig, closedCaptions };
    const audio = this.#tracks.find((t) => t.config.kind === 'audio')?.config;
    const tracks = muxTracks(audio ? [video, audio] : [video]);
    r.writer = new PartWriter(tracks[0]!, tracks[1]);
    const init = initOutput(tracks);
    this.#o.output(r.rung, { type: 'init', init, bandwidth: nominalBandwidth(r.rung.videoBitrate) });
    return true;
  }
}
