/**
 * The part cutter: access units in, a CMAF header and LL-HLS parts (moof+mdat) out. Pure: no clock, no I/O;
 * wall-clock time only comes in on the samples (`receivedAt`).
 *
 * Rules (DESIGN.md, RFC 8216bis 4.4.4.9 EXT-X-PART):
 * - a part is at most `partTarget` long: it closes when the next sample would push it past (durations counted
 *   on the video track, or on audio when there is no video);
 * - a segment closes on the first keyframe at or after `segmentTarget`; that keyframe opens the next segment's
 *   part 0, which is INDEPENDENT; the closing part carries `segmentEnd`;
 * - a keyframe inside a segment opens an INDEPENDENT part too, whenever the part before it may close there: it
 *   is at least 85% of `partTarget` long, or is itself INDEPENDENT (the two exemptions 4.4.4.9 grants besides a
 *   segment's last part). Every such keyframe is a point where a player can start and the origin can switch to a
 *   backup input, so a failover waits at most one GOP;
 * - to make that hold when `partTarget` does not divide the GOP (0.333 s parts and 1 s GOPs at 30 fps: 9-frame
 *   parts), each GOP is planned from the one before it ({@link planGopParts}): a short INDEPENDENT opener, then
 *   parts of 85-100% of `partTarget` that end exactly on the next keyframe. A GOP that comes out different from
 *   the plan just falls back to the rules above;
 * - audio samples go into the part whose video span holds their dts (a closed part waits up to `audioWait`
 *   seconds of video for late audio);
 * - a sample's duration is the distance to the next one, so each video track holds one sample back; at flush
 *   the last one reuses the previous duration. AAC frames have a fixed duration, so audio needs no hold-back.
 * - nothing is emitted before the first keyframe; earlier video is dropped and counted.
 */

import { sameBytes } from '../codec/bytes.ts';
import type {
  AccessUnit,
  AudioTrackConfig,
  DemuxEvent,
  TrackConfig,
  VideoTrackConfig,
} from '../media/access-unit.ts';
import { type FragmentSample, fragment } from './fragment.ts';
import { initSegment, type MuxTrack, trackTimescale } from './init-segment.ts';
import { ProgramDateTimeClock } from './program-date-time.ts';

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
}

export interface InitOutput {
  type: 'init';
  bytes: Uint8Array;
  /** RFC 6381 codecs, video first, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: string;
  /** `WIDTHxHEIGHT`, absent for audio-only. */
  resolution?: string;
  /** From the SPS VUI timing, when present. */
  frameRate?: number;
  tracks: TrackConfig[];
}

export interface PartOutput {
  type: 'part';
  msn: number;
  part: number;
  bytes: Uint8Array;
  /** Seconds. */
  duration: number;
  independent: boolean;
  /** Epoch ms of the part's first sample. */
  programDateTime: number;
  segmentEnd: boolean;
}

export type SegmenterOutput = InitOutput | PartOutput | { type: 'fatal'; reason: string };

export interface SegmenterStats {
  droppedBeforeKeyframe: number;
  droppedNonMonotonic: number;
  droppedWithoutTrack: number;
  audioResyncs: number;
  pdtReanchors: number;
}

interface Sample extends FragmentSample {
  /** Track timescale ticks since the stream origin. */
  dts: number;
  receivedAt: number;
}

interface OpenPart {
  primary: Sample[];
  /** Primary-track ticks. */
  duration: number;
  independent: boolean;
  msn: number;
  part: number;
  programDateTime: number;
}

interface ClosedPart extends OpenPart {
  segmentEnd: boolean;
  /** Seconds since the origin where the part's video ends. */
  endSec: number;
}

export class CmafSegmenter {
  readonly #o: Required<SegmenterOptions>;
  readonly stats: SegmenterStats = {
    droppedBeforeKeyframe: 0,
    droppedNonMonotonic: 0,
    droppedWithoutTrack: 0,
    audioResyncs: 0,
    pdtReanchors: 0,
  };
  #video: VideoTrackConfig | undefined;
  #audio: AudioTrackConfig | undefined;
  #started = false;
  #fatal: string | undefined;
  #buffered: AccessUnit[] = [];
  #tracks: MuxTrack[] = [];
  #originSec = 0;
  // video (90 kHz ticks since the origin)
  #held: Sample | undefined;
  #lastVideoIn = Number.NEGATIVE_INFINITY;
  #lastVideoDuration = 0;
  // audio (sample-rate ticks since the origin)
  #audioNext: number | undefined;
  #audioFrame = 1024;
  #audioQueue: Sample[] = [];
  // parts
  #open: OpenPart | undefined;
  #closed: ClosedPart[] = [];
  #msn: number;
  #partIndex = 0;
  #segmentStart = 0;
  #sequence = 1;
  // GOP planning (video): where the current GOP began, its frames so far, and its planned part sizes in frames
  #gopStart: number | undefined;
  #gopFrames = 0;
  #gopPart = 0;
  #gopPlan: readonly number[] = [];
  readonly #pdt = new ProgramDateTimeClock();

  constructor(options: SegmenterOptions) {
    this.#o = { trackWait: 1, audioWait: 0.5, ...options };
    this.#msn = options.firstMsn;
  }

  get audioOnly(): boolean {
    return this.#started && !this.#tracks.some((t) => t.config.kind === 'video');
  }

  /** Demux `error` events are the session's business and are ignored here. */
  push(ev: DemuxEvent): SegmenterOutput[] {
    if (this.#fatal !== undefined || ev.type === 'error') return [];
    const out: SegmenterOutput[] = [];
    if (ev.type === 'config') this.#config(ev.track, out);
    else if (!this.#started) this.#buffer(ev.unit, out);
    else this.#unit(ev.unit, out);
    return out;
  }

  /** End of stream: start if possible, place the held-back samples, close the last part as a segment end. */
  flush(): SegmenterOutput[] {
    if (this.#fatal !== undefined) return [];
    const out: SegmenterOutput[] = [];
    if (!this.#started && this.#buffered.length > 0) this.#start(out, true);
    if (!this.#started) return out;
    if (this.#held) {
      this.#held.duration =
        this.#lastVideoDuration || Math.round(trackTimescale(this.#tracks[0]!.config) / 30);
      this.#place(this.#held, out);
      this.#held = undefined;
    }
    this.#close(true);
    this.#emit(out, true);
    return out;
  }

  #config(track: TrackConfig, out: SegmenterOutput[]): void {
    const current = track.kind === 'video' ? this.#video : this.#audio;
    if (current && this.#started) {
      const before = current.kind === 'video' ? current.avcC : current.audioSpecificConfig;
      const after = track.kind === 'video' ? track.avcC : track.audioSpecificConfig;
      if (!sameBytes(before, after)) this.#fail(out, `${track.kind} codec configuration changed mid-session`);
      return;
    }
    if (this.#started) return; // a track that appears after the start is not in the init segment: ignored
    if (track.kind === 'video') this.#video = track;
    else this.#audio = track;
  }

  #buffer(unit: AccessUnit, out: SegmenterOutput[]): void {
    const config = unit.kind === 'video' ? this.#video : this.#audio;
    if (!config) {
      this.stats.droppedWithoutTrack++;
      return;
    }
    const firstKey = this.#buffered.find((u) => u.kind === 'video');
    if (unit.kind === 'video' && !firstKey && !unit.keyframe) {
      this.stats.droppedBeforeKeyframe++;
      return;
    }
    this.#buffered.push(unit);
    const span = (kind: 'video' | 'audio', ts: number) => {
      const units = this.#buffered.filter((u) => u.kind === kind);
      return units.length < 2 ? 0 : (units[units.length - 1]!.dts - units[0]!.dts) / ts;
    };
    if (this.#video && (firstKey || unit.kind === 'video')) {
      if (this.#audio || span('video', this.#video.timescale) >= this.#o.trackWait) this.#start(out, false);
    } else if (!this.#video && this.#audio && span('audio', this.#audio.timescale) >= this.#o.trackWait) {
      this.#start(out, false);
    } else if (this.#audio && this.#buffered.length > 4096) {
      // Video declared but no keyframe yet: keep the audio buffer bounded.
      this.#buffered.shift();
      this.stats.droppedBeforeKeyframe++;
    }
  }

  #start(out: SegmenterOutput[], atFlush: boolean): void {
    const key = this.#buffered.find((u) => u.kind === 'video');
    const video = key ? this.#video : undefined;
    const audio = this.#audio;
    if (!video && (!audio || (this.#video && !atFlush))) return;
    const configs: TrackConfig[] = [video, audio].filter(
      (c): c is VideoTrackConfig | AudioTrackConfig => !!c,
    );
    this.#tracks = configs.map((config, i) => {
      if (config.kind === 'audio') {
        // HE-AAC with explicit SBR signalling reports the output rate: 2048 output samples per core frame.
        this.#audioFrame = config.objectType === 5 || config.objectType === 29 ? 2048 : 1024;
      }
      return { id: i + 1, config, timescale: trackTimescale(config) };
    });
    const first = key ?? this.#buffered[0]!;
    this.#originSec = first.dts / (first.kind === 'video' ? video!.timescale : audio!.timescale);
    this.#started = true;
    const init: InitOutput = {
      type: 'init',
      bytes: initSegment(this.#tracks),
      codecs: configs.map((c) => c.codecString).join(','),
      tracks: configs,
    };
    if (video) init.resolution = `${video.width}x${video.height}`;
    if (video?.frameRate) init.frameRate = video.frameRate;
    out.push(init);
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const u of buffered) this.#unit(u, out);
  }

  #unit(unit: AccessUnit, out: SegmenterOutput[]): void {
    const track = this.#tracks.find((t) => t.config.kind === unit.kind);
    if (!track) {
      this.stats.droppedWithoutTrack++;
      return;
    }
    const inScale = track.config.timescale;
    const converted = Math.round((unit.dts / inScale - this.#originSec) * track.timescale);
    const cto = Math.round(((unit.pts - unit.dts) * track.timescale) / inScale);
    if (unit.kind === 'video') {
      if (unit.dts <= this.#lastVideoIn || converted < 0) {
        this.stats.droppedNonMonotonic++;
        return;
      }
      this.#lastVideoIn = unit.dts;
      const sample: Sample = {
        dts: converted,
        cto,
        duration: 0,
        data: unit.data,
        sync: unit.keyframe,
        receivedAt: unit.receivedAt,
      };
      const held = this.#held;
      this.#held = sample;
      if (held) {
        held.duration = sample.dts - held.dts;
        this.#lastVideoDuration = held.duration;
        this.#place(held, out);
      }
      this.#emit(out, false);
      return;
    }
    // AAC: count samples so durations stay exact (1 kHz RTMP times would alternate 1008/1056 ticks at 48 kHz);
    // follow the input only when it jumps by more than two frames (a gap or overlap at the encoder).
    if (converted < 0) {
      this.stats.droppedBeforeKeyframe++;
      return;
    }
    if (this.#audioNext === undefined || Math.abs(converted - this.#audioNext) > 2 * this.#audioFrame) {
      if (this.#audioNext !== undefined) this.stats.audioResyncs++;
      this.#audioNext = converted;
    }
    const sample: Sample = {
      dts: this.#audioNext,
      cto: 0,
      duration: this.#audioFrame,
      data: unit.data,
      sync: true,
      receivedAt: unit.receivedAt,
    };
    this.#audioNext += this.#audioFrame;
    if (this.audioOnly) this.#place(sample, out);
    else {
      this.#audioQueue.push(sample);
      this.#emit(out, false);
    }
  }

  /** Adds a complete primary-track sample to the open part, closing parts and segments before it as needed. */
  #place(s: Sample, out: SegmenterOutput[]): void {
    const scale = this.#tracks[0]!.timescale;
    const partTarget = Math.floor(this.#o.partTarget * scale);
    // 1 ms of tolerance so a 2.000 s GOP timed in 1 kHz ticks closes a 2 s segment.
    const segmentTarget = Math.round(this.#o.segmentTarget * scale) - Math.round(scale / 1000);
    const video = !this.audioOnly;
    const keyframe = video && s.sync;
    const open = this.#open;
    if (open && s.sync && s.dts - this.#segmentStart >= segmentTarget) {
      this.#close(true);
      this.#msn++;
      this.#partIndex = 0;
    } else if (open && this.#cutsBefore(s, keyframe, open, partTarget)) {
      this.#close(false);
      this.#partIndex++;
      this.#gopPart++;
    }
    if (!this.#open) {
      if (this.#partIndex === 0) this.#segmentStart = s.dts;
      this.#open = {
        primary: [],
        duration: 0,
        independent: s.sync,
        msn: this.#msn,
        part: this.#partIndex,
        programDateTime: this.#pdt.stamp(s.dts / scale, s.receivedAt),
      };
      this.stats.pdtReanchors = this.#pdt.reanchors;
    }
    if (keyframe) this.#startGop(s, partTarget);
    this.#open.primary.push(s);
    this.#open.duration += s.duration;
    if (video) this.#gopFrames++;
    if (this.audioOnly) this.#emit(out, false);
  }

  /** Whether the open part closes before `s` inside a segment (the segment boundary is decided first). */
  #cutsBefore(s: Sample, keyframe: boolean, open: OpenPart, partTarget: number): boolean {
    if (open.duration + s.duration > partTarget) return true;
    if (keyframe) return open.independent || open.duration >= Math.ceil(PART_FLOOR * partTarget);
    const planned = this.#gopPlan[this.#gopPart];
    return planned !== undefined && open.primary.length >= planned;
  }

  /** A keyframe: measure the GOP it ends, and plan the parts of the one it starts. */
  #startGop(key: Sample, partTarget: number): void {
    const previous = this.#gopStart;
    const frames = this.#gopFrames;
    this.#gopStart = key.dts;
    this.#gopFrames = 0;
    this.#gopPart = 0;
    this.#gopPlan = [];
    if (previous === undefined || frames === 0) return;
    const gop = key.dts - previous;
    // Planned even when the next keyframe closes the segment (that boundary is aligned anyway): the short part
    // is then the INDEPENDENT opener, not the segment's last part. hls.js takes a segment whose unbuffered tail
    // is shorter than its maxFragLookUpTolerance (0.25 s) as loaded when it loads whole segments, and skips a
    // two-frame last part, leaving a hole it stalls on.
    // A keyframe that could not open a part joins the open one, whose earlier frames the plan carries.
    this.#gopPlan = planGopParts(frames, gop / frames, partTarget, this.#open!.primary.length);
  }

  #close(segmentEnd: boolean): void {
    const open = this.#open;
    if (!open || open.primary.length === 0) return;
    const last = open.primary[open.primary.length - 1]!;
    const endSec = (last.dts + last.duration) / this.#tracks[0]!.timescale;
    this.#closed.push({ ...open, segmentEnd, endSec });
    this.#open = undefined;
  }

  /** Emits closed parts once the audio for their span has arrived (or waited long enough, or at the end). */
  #emit(out: SegmenterOutput[], final: boolean): void {
    const audio = this.audioOnly ? undefined : this.#tracks.find((t) => t.config.kind === 'audio');
    while (this.#closed.length > 0) {
      const part = this.#closed[0]!;
      let audioSamples: Sample[] = [];
      if (audio) {
        const audioEnd = (this.#audioNext ?? 0) / audio.timescale;
        const videoAt = this.#held ? this.#held.dts / this.#tracks[0]!.timescale : part.endSec;
        const ready = final || audioEnd >= part.endSec || videoAt - part.endSec >= this.#o.audioWait;
        if (!ready) return;
        const lastPart = final && this.#closed.length === 1;
        const cut = lastPart
          ? this.#audioQueue.length
          : this.#audioQueue.findIndex((a) => a.dts / audio.timescale >= part.endSec);
        audioSamples = this.#audioQueue.splice(0, cut < 0 ? this.#audioQueue.length : cut);
      }
      this.#closed.shift();
      out.push(this.#part(part, audio, audioSamples));
    }
  }

  #part(p: ClosedPart, audio: MuxTrack | undefined, audioSamples: Sample[]): PartOutput {
    const primary = this.#tracks[0]!;
    const tracks = [{ trackId: primary.id, baseMediaDecodeTime: p.primary[0]!.dts, samples: p.primary }];
    if (audio && audioSamples.length > 0) {
      tracks.push({ trackId: audio.id, baseMediaDecodeTime: audioSamples[0]!.dts, samples: audioSamples });
    }
    return {
      type: 'part',
      msn: p.msn,
      part: p.part,
      bytes: fragment(this.#sequence++, tracks),
      duration: p.duration / primary.timescale,
      independent: p.independent,
      programDateTime: p.programDateTime,
      segmentEnd: p.segmentEnd,
    };
  }

  #fail(out: SegmenterOutput[], reason: string): void {
    this.#fatal = reason;
    out.push({ type: 'fatal', reason });
  }
}

/** RFC 8216bis 4.4.4.9: a part that is neither INDEPENDENT nor a segment's last is at least 85% of PART-TARGET. */
const PART_FLOOR = 0.85;

/**
 * Part sizes, in frames, for a GOP of `frames` frames of `frameTicks` each, so that its last part ends exactly
 * on the next keyframe. The first part is as long as it can be: when it opens on the keyframe it is INDEPENDENT
 * and alone may be short; when it already holds `carried` frames from before the keyframe (which fell too early
 * in a part to open one) it is held to the floor like the rest. The others split the remaining frames evenly
 * between 85% and 100% of `partTarget` (ticks). Empty when no such split exists.
 */
export function planGopParts(frames: number, frameTicks: number, partTarget: number, carried = 0): number[] {
  const most = Math.floor(partTarget / frameTicks + 1e-6);
  const least = Math.ceil((PART_FLOOR * partTarget) / frameTicks - 1e-6);
  const shortest = carried > 0 ? Math.max(least, carried + 1) : 1;
  for (let first = Math.min(most, carried + frames); first >= shortest; first--) {
    const rest = carried + frames - first;
    const count = Math.ceil(rest / most);
    if (count > 0 && Math.floor(rest / count) < least) continue;
    const base = count > 0 ? Math.floor(rest / count) : 0;
    return [first, ...Array.from({ length: count }, (_, i) => base + (i < rest % count ? 1 : 0))];
  }
  return [];
}
