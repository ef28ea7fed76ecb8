/**
 * Before the first part: which tracks the stream has. The init segment lists its tracks once, so access units
 * are held until that is known: a keyframe and both configs, or `trackWait` seconds of one track's media without
 * the other's config. Nothing starts before the first keyframe of a declared video track; earlier video is
 * dropped and counted. The output timeline's origin is that keyframe (or the first audio of an audio-only
 * stream). The video config it starts with says whether the held video carries captions.
 */
import type { AccessUnit, AudioTrackConfig, TrackConfig, VideoTrackConfig } from '../media/access-unit.ts';

export interface TrackStart {
  /** Absent when the stream starts audio-only. */
  video: VideoTrackConfig | undefined;
  audio: AudioTrackConfig | undefined;
  /** Seconds of input time where the output timeline starts. */
  originSec: number;
  /** The units held until the start, in arrival order. */
  units: AccessUnit[];
}

/** Audio units held while a declared video track has sent no keyframe yet; older ones are dropped. */
const MAX_HELD_UNITS = 4096;

export class StartGate {
  readonly #trackWait: number;
  readonly #stats: { droppedBeforeKeyframe: number; droppedWithoutTrack: number };
  #video: VideoTrackConfig | undefined;
  #audio: AudioTrackConfig | undefined;
  #held: AccessUnit[] = [];

  /** `trackWait`: seconds of media to wait for the other track's config before starting with one track. */
  constructor(trackWait: number, stats: { droppedBeforeKeyframe: number; droppedWithoutTrack: number }) {
    this.#trackWait = trackWait;
    this.#stats = stats;
  }

  /** The config a track was declared with (the last before the start). */
  declared(kind: TrackConfig['kind']): TrackConfig | undefined {
    return kind === 'video' ? this.#video : this.#audio;
  }

  config(track: TrackConfig): void {
    if (track.kind === 'video') this.#video = track;
    else this.#audio = track;
  }

  /** Holds `unit`; the start, once the tracks are known. */
  push(unit: AccessUnit): TrackStart | undefined {
    if (!this.declared(unit.kind)) {
      this.#stats.droppedWithoutTrack++;
      return undefined;
    }
    const firstKey = this.#held.find((u) => u.kind === 'video');
    if (unit.kind === 'video' && !firstKey && !unit.keyframe) {
      this.#stats.droppedBeforeKeyframe++;
      return undefined;
    }
    this.#held.push(unit);
    if (this.#video && (firstKey || unit.kind === 'video')) {
      const ready = this.#audio || this.#span('video', this.#video.timescale) >= this.#trackWait;
      return ready ? this.#start(false) : undefined;
    }
    if (!this.#video && this.#audio && this.#span('audio', this.#audio.timescale) >= this.#trackWait) {
      return this.#start(false);
    }
    if (this.#audio && this.#held.length > MAX_HELD_UNITS) {
      // Video declared but no keyframe yet: keep the audio held bounded.
      this.#held.shift();
      this.#stats.droppedBeforeKeyframe++;
    }
    return undefined;
  }

  /** End of stream: start with what is held, if anything can start. */
  flush(): TrackStart | undefined {
    return this.#held.length > 0 ? this.#start(true) : undefined;
  }

  /** Seconds between the first and the last held unit of `kind` (ticks of `timescale`). */
  #span(kind: TrackConfig['kind'], timescale: number): number {
    const units = this.#held.filter((u) => u.kind === kind);
    return units.length < 2 ? 0 : (units[units.length - 1]!.dts - units[0]!.dts) / timescale;
  }

  /** Video starts at its first keyframe; a stream without one starts audio-only, but only at flush if video was declared. */
  #start(atFlush: boolean): TrackStart | undefined {
    const key = this.#held.find((u) => u.kind === 'video');
    const video = key ? this.#video : undefined;
    const audio = this.#audio;
    if (!video && (!audio || (this.#video && !atFlush))) return undefined;
    const first = key ?? this.#held[0]!;
    const originSec = first.dts / (first.kind === 'video' ? video! : audio!).timescale;
    const units = this.#held;
    this.#held = [];
    return { video: video && withCaptions(video, units), audio, originSec, units };
  }
}

/**
 * The init segment is made once, at the start, so whether the video carries captions is decided from the units
 * held until then (from the first keyframe on; in practice that keyframe, or the first `trackWait` of video when
 * the audio config is late). A captioned encoder sends cc_data with every picture (codec/h264-sei.ts), so the
 * first keyframe tells; captions that only begin later in the session are not declared.
 */
function withCaptions(video: VideoTrackConfig, units: readonly AccessUnit[]): VideoTrackConfig {
  return { ...video, closedCaptions: units.some((u) => u.kind === 'video' && u.captions === true) };
}
