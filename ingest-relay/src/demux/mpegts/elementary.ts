/**
 * Elementary stream handlers: one complete PES payload with its timestamps in, demux events out. A table
 * keyed by stream_type (ISO/IEC 13818-1 Table 2-34) picks the handler.
 */
import { AAC_FRAME_SAMPLES, ascFromAdts, parseAdtsFrames } from '../../codec/aac.ts';
import { sameBytes } from '../../codec/bytes.ts';
import { annexBToAvcc, buildAvcC, isIdr, NalType, nalType, parseSps, splitAnnexB } from '../../codec/h264.ts';
import { carriesA53Captions } from '../../codec/h264-sei.ts';
import type { AccessUnit, DemuxEvent, TrackKind } from '../../media/access-unit.ts';
import { aacTrackConfig, h264TrackConfig } from '../../media/track-config.ts';

/** MPEG-TS timestamps are 90 kHz (§2.4.3.7). */
export const TS_TIMESCALE = 90_000;

export interface PesUnit {
  /** Unwrapped 90 kHz ticks. */
  pts: number;
  dts: number;
  payload: Uint8Array;
  receivedAt: number;
}

export interface ElementaryStream {
  onPes(pes: PesUnit, out: DemuxEvent[], count: (reason: string) => void): void;
}

/**
 * H.264 (stream_type 0x1B): Annex B byte stream; ffmpeg and libsrt senders put one access unit in each PES
 * (ISO/IEC 13818-1 §2.14: "a PES packet shall contain ... one or more complete access units" in practice one).
 */
export class H264Stream implements ElementaryStream {
  #avcC: Uint8Array | undefined;

  onPes(pes: PesUnit, out: DemuxEvent[], count: (reason: string) => void): void {
    const nals = splitAnnexB(pes.payload);
    const sps = nals.find((n) => nalType(n) === NalType.sps);
    const pps = nals.filter((n) => nalType(n) === NalType.pps);
    if (sps && pps.length > 0) {
      const avcC = buildAvcC(sps, pps);
      if (!sameBytes(this.#avcC, avcC)) {
        const info = parseSps(sps);
        if (!info.ok) count('h264-bad-sps');
        else {
          this.#avcC = avcC;
          out.push({ type: 'config', track: h264TrackConfig(TS_TIMESCALE, avcC, info.value) });
        }
      }
    }
    if (this.#avcC === undefined) {
      count('h264-before-config');
      return;
    }
    const data = annexBToAvcc(nals);
    if (data.byteLength === 0) return;
    const unit: AccessUnit = {
      kind: 'video',
      dts: pes.dts,
      pts: pes.pts,
      keyframe: nals.some(isIdr),
      data,
      receivedAt: pes.receivedAt,
    };
    if (carriesA53Captions(nals)) unit.captions = true;
    out.push({ type: 'unit', unit });
  }
}

/** AAC in ADTS (stream_type 0x0F, ISO 14496-3 1.A.2): several frames per PES, the PTS belongs to the first. */
export class AdtsStream implements ElementaryStream {
  #asc: Uint8Array | undefined;

  onPes(pes: PesUnit, out: DemuxEvent[], count: (reason: string) => void): void {
    const { frames, rest, skipped } = parseAdtsFrames(pes.payload);
    if (skipped > 0) count('adts-resync');
    if (rest.byteLength > 0) count('adts-partial-frame');
    frames.forEach((frame, i) => {
      // A header with nothing after it (frame_length = header length) is no sample: an empty access unit
      // would be an empty mdat sample (found by fuzzing). The FLV path drops empty frames the same way.
      if (frame.data.byteLength === 0) {
        count('adts-empty-frame');
        return;
      }
      const asc = ascFromAdts(frame.header);
      if (!sameBytes(this.#asc, asc)) {
        this.#asc = asc;
        const { objectType, sampleRate, channelConfig } = frame.header;
        // Table 1.19: configuration 7 is 7.1 (8 channels); 0 = in the PCE (assume 2).
        const channelCount = channelConfig === 7 ? 8 : channelConfig || 2;
        out.push({
          type: 'config',
          track: aacTrackConfig(TS_TIMESCALE, asc, { objectType, sampleRate, channelCount }),
        });
      }
      // Each frame is 1024 samples: frame i starts i * 1024 / sampleRate seconds after the PES PTS.
      const offset = Math.round((i * AAC_FRAME_SAMPLES * TS_TIMESCALE) / frame.header.sampleRate);
      out.push({
        type: 'unit',
        unit: {
          kind: 'audio',
          dts: pes.dts + offset,
          pts: pes.pts + offset,
          keyframe: true,
          data: frame.data.slice(),
          receivedAt: pes.receivedAt,
        },
      });
    });
  }
}

/** The stream_types the relay carries (Table 2-34): H.264 and AAC in ADTS. */
export const STREAM_TYPES: Readonly<Record<number, () => ElementaryStream>> = {
  27: () => new H264Stream(),
  15: () => new AdtsStream(),
};

/**
 * The kind of track a stream_type is, carried or not (Table 2-34, and ATSC A/52's 0x81 AC-3 and 0x87 E-AC-3):
 * a PID of a kind the stream already has a track of is left out. Other types (private data, metadata) have none.
 */
// biome-ignore format: a table reads better in rows
export const STREAM_KINDS: Readonly<Record<number, TrackKind>> = {
  1: 'video', 2: 'video', 16: 'video', 27: 'video', 36: 'video', // MPEG-1/2, MPEG-4, H.264, HEVC
  3: 'audio', 4: 'audio', 15: 'audio', 17: 'audio', 129: 'audio', 135: 'audio', // MP1/2, AAC, AC-3
};
