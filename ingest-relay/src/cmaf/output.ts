/**
 * What the segmenter emits, and the byte encoding of it: the CMAF header (`init-segment.ts`) once the tracks
 * are known, then each closed part with its audio as one moof+mdat (`fragment.ts`).
 */
import type { PartMeta } from '../../../src/contract/ingest.ts';
import type { TrackConfig } from '../media/access-unit.ts';
import { type FragmentTrack, fragment } from './fragment.ts';
import { initSegment, type MuxTrack, trackTimescale } from './init-segment.ts';
import type { ClosedPart } from './part-cutter.ts';
import type { Sample } from './sample-timing.ts';

export interface InitOutput {
  type: 'init';
  bytes: Uint8Array;
  /** RFC 6381 codecs, video first, e.g. `avc1.64001f,mp4a.40.2`. */
  codecs: string;
  /** `WIDTHxHEIGHT`, absent for audio-only. */
  resolution?: string;
  /** From the SPS VUI timing, when present. */
  frameRate?: number;
  /** The video carries CEA-608/708 captions (InitHeaders.closedCaptions); absent for audio-only. */
  closedCaptions?: boolean;
  tracks: TrackConfig[];
}

/**
 * A part as the relay <-> Worker contract names it (`PartMeta`: msn, part, duration in seconds, independent,
 * programDateTime, segmentEnd), with its bytes. The session adds the rendition and the size and uploads it.
 */
export interface PartOutput extends Omit<PartMeta, 'rendition' | 'size'> {
  type: 'part';
  bytes: Uint8Array;
  /** What went into the part, for the ladder's rungs to cut theirs at the same place (never uploaded). */
  media: PartMedia;
}

/** A part's samples as cut: primary-track ticks on the output timeline. */
export interface PartMedia {
  /** Decode time of the part's first primary sample. */
  dts: number;
  /** Its composition offset (pts - dts): the source's reorder delay on a keyframe, 0 without B-frames. */
  cto: number;
  /** Primary-track ticks. */
  duration: number;
  /** The audio samples interleaved into the part (empty without audio). */
  audio: readonly Sample[];
}

/**
 * `config-changed`: a track's codec config changed under a running segmenter. The init segment holds one config
 * per track, so the segmenter has closed its last part (a segment end) and takes nothing more: the session
 * starts a new one, with a new init, from the unit that carries the new config.
 */
export type SegmenterOutput =
  | InitOutput
  | PartOutput
  | { type: 'config-changed'; kind: TrackConfig['kind']; before: TrackConfig; after: TrackConfig };

/** The output tracks for `configs` (video first): track_IDs from 1, output timescales. */
export function muxTracks(configs: readonly TrackConfig[]): MuxTrack[] {
  return configs.map((config, i) => ({ id: i + 1, config, timescale: trackTimescale(config) }));
}

/** The CMAF header for `tracks`, with what the Worker advertises about them. */
export function initOutput(tracks: readonly MuxTrack[]): InitOutput {
  const configs = tracks.map((t) => t.config);
  const init: InitOutput = {
    type: 'init',
    bytes: initSegment(tracks),
    codecs: configs.map((c) => c.codecString).join(','),
    tracks: configs,
  };
  const video = configs.find((c) => c.kind === 'video');
  if (video) init.resolution = `${video.width}x${video.height}`;
  if (video?.frameRate) init.frameRate = video.frameRate;
  if (video) init.closedCaptions = video.closedCaptions === true;
  return init;
}

/** Encodes closed parts as fragments, numbering them (mfhd sequence_number) from 1. */
export class PartWriter {
  readonly #primary: MuxTrack;
  readonly #audio: MuxTrack | undefined;
  #sequence = 1;

  /** `audio`: the audio track interleaved into video parts; undefined for a single-track stream. */
  constructor(primary: MuxTrack, audio: MuxTrack | undefined) {
    this.#primary = primary;
    this.#audio = audio;
  }

  write(p: ClosedPart, audioSamples: readonly Sample[]): PartOutput {
    const primary = this.#primary;
    const first = p.primary[0]!;
    const tracks: FragmentTrack[] = [
      { trackId: primary.id, baseMediaDecodeTime: first.dts, samples: p.primary },
    ];
    if (this.#audio && audioSamples.length > 0) {
      tracks.push({
        trackId: this.#audio.id,
        baseMediaDecodeTime: audioSamples[0]!.dts,
        samples: audioSamples,
      });
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
      media: { dts: first.dts, cto: first.cto, duration: p.duration, audio: audioSamples },
    };
  }
}
