/**
 * FLV tag bodies (as RTMP audio/video messages carry them) to the relay's access-unit model.
 *
 * Tag headers: Adobe "Video File Format Specification" v10.1, E.4.2.1 (AUDIODATA) and E.4.3.1 (VIDEODATA);
 * enhanced RTMP (veovera "Enhanced RTMP" v1/v2) sets the top bit of the video header or SoundFormat 9 and
 * names the codec with a FourCC. The relay packages H.264 + AAC-LC only: any other codec is a fatal error that
 * names the codec and what to send instead. Timestamps are RTMP milliseconds (timescale 1000), unwrapped.
 */
import { AAC_FRAME_SAMPLES, parseAudioSpecificConfig } from '../codec/aac.ts';
import { sameBytes } from '../codec/bytes.ts';
import { annexBToAvcc, buildAvcC, parameterSets, parseAvcC, parseSps, splitAvcc } from '../codec/h264.ts';
import { carriesA53Captions } from '../codec/h264-sei.ts';
import type { AccessUnit, DemuxEvent, TrackConfig, TrackKind } from '../media/access-unit.ts';
import { aacTrackConfig, h264TrackConfig } from '../media/track-config.ts';
import { Unwrapper } from './timestamps.ts';

export const RTMP_TIMESCALE = 1000;

/** FLV CodecID (E.4.3.1), plus the widely used non-standard ids for HEVC and AV1. */
const VIDEO_CODECS: Record<number, string> = {
  1: 'JPEG',
  2: 'Sorenson H.263',
  3: 'Screen video',
  4: 'On2 VP6',
  5: 'On2 VP6 with alpha',
  6: 'Screen video v2',
  7: 'H.264',
  12: 'HEVC',
  13: 'AV1',
};
const AVC = 7;

/** FLV SoundFormat (E.4.2.1). */
const AUDIO_CODECS: Record<number, string> = {
  0: 'linear PCM',
  1: 'ADPCM',
  2: 'MP3',
  3: 'linear PCM little-endian',
  4: 'Nellymoser 16 kHz',
  5: 'Nellymoser 8 kHz',
  6: 'Nellymoser',
  7: 'G.711 A-law',
  8: 'G.711 mu-law',
  10: 'AAC',
  11: 'Speex',
  14: 'MP3 8 kHz',
  15: 'device-specific',
};
const AAC = 10;
/** SoundFormat 9 means an enhanced RTMP audio header with a FourCC (Enhanced RTMP v2). */
const AUDIO_EX_HEADER = 9;
/** AAC audio object types (ISO 14496-3 Table 1.1) named in refusals. */
const AAC_OBJECT_TYPES: Record<number, string> = {
  1: 'AAC Main',
  3: 'AAC SSR',
  4: 'AAC LTP',
  5: 'HE-AAC',
  29: 'HE-AACv2',
};
const AAC_LC = 2;

/** Video FrameType (E.4.3.1): 1 keyframe, 5 video info/command frame (carries no picture). */
const FrameType = { key: 1, command: 5 } as const;
/** AVCPacketType (E.4.3.1). */
const AvcPacket = { sequenceHeader: 0, nalu: 1, endOfSequence: 2 } as const;

export interface FlvDemuxerOptions {
  /**
   * Frames of one track that may arrive before its sequence header: each is dropped with a non-fatal error;
   * past this many the encoder is not going to send one and the session ends (fatal).
   */
  maxFramesBeforeConfig?: number;
}

interface TrackState {
  unwrapper: Unwrapper;
  config: TrackConfig | undefined;
  /** Raw config bytes (avcC or ASC) last announced, to re-announce only on change. */
  configBytes: Uint8Array | undefined;
  framesWithoutConfig: number;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}

export class FlvDemuxer {
  readonly #maxFramesBeforeConfig: number;
  readonly #video: TrackState;
  readonly #audio: TrackState;
  /** NAL length size of the incoming samples (from the encoder's avcC). */
  #nalLengthSize = 4;
  /** The SPS and PPSs of the video config announced last (from the sequence header, or in-band ones). */
  #parameterSets: { sps: Uint8Array; pps: Uint8Array[] } | undefined;
  #failed = false;

  constructor(options: FlvDemuxerOptions = {}) {
    this.#maxFramesBeforeConfig = options.maxFramesBeforeConfig ?? 300;
    this.#video = {
      unwrapper: new Unwrapper(32),
      config: undefined,
      configBytes: undefined,
      framesWithoutConfig: 0,
    };
    this.#audio = {
      unwrapper: new Unwrapper(32),
      config: undefined,
      configBytes: undefined,
      framesWithoutConfig: 0,
    };
  }

  /** One RTMP video message (type 9): `timestamp` raw 32-bit ms, `receivedAt` epoch ms. */
  video(body: Uint8Array, timestamp: number, receivedAt: number): DemuxEvent[] {
    if (this.#failed || body.byteLength === 0) return [];
    const header = body[0]!;
    if (header & 0x80) {
      const code = fourcc(body, 1);
      return this.#fatal(`unsupported video codec '${code}' (enhanced RTMP): send H.264`);
    }
    const frameType = header >> 4;
    const codecId = header & 0x0f;
    if (frameType === FrameType.command) return [];
    if (codecId !== AVC) {
      const name = VIDEO_CODECS[codecId] ?? 'unknown';
      return this.#fatal(`unsupported video codec id ${codecId} (${name}): send H.264`);
    }
    if (body.byteLength < 5)
      return [this.#error(`AVC video tag of ${body.byteLength} bytes has no AVC header`)];
    const packetType = body[1]!;
    // CompositionTime: SI24, milliseconds (E.4.3.2).
    const cts = ((body[2]! << 24) | (body[3]! << 16) | (body[4]! << 8)) >> 8;
    const payload = body.subarray(5);
    if (packetType === AvcPacket.sequenceHeader) return this.#videoConfig(payload);
    if (packetType !== AvcPacket.nalu) return [];
    const track = this.#video;
    if (track.config === undefined) return this.#beforeConfig('video', track);
    const nals = splitAvcc(payload, this.#nalLengthSize);
    if (!nals.ok) return [this.#error(`H.264 frame: ${nals.error}`)];
    const events = this.#inBandConfig(nals.value);
    const data = annexBToAvcc(nals.value);
    if (data.byteLength === 0) return events;
    const dts = track.unwrapper.unwrap(timestamp >>> 0);
    let offset = cts;
    if (offset < 0) {
      // pts >= dts in the sample model; FLV muxers never write negative offsets for H.264.
      events.push(this.#error(`negative composition time ${cts} ms, treated as 0`));
      offset = 0;
    }
    const keyframe = frameType === FrameType.key;
    const unit: AccessUnit = { kind: 'video', dts, pts: dts + offset, keyframe, data, receivedAt };
    if (carriesA53Captions(nals.value)) unit.captions = true;
    events.push({ type: 'unit', unit });
    return events;
  }

  /** One RTMP audio message (type 8). */
  audio(body: Uint8Array, timestamp: number, receivedAt: number): DemuxEvent[] {
    if (this.#failed || body.byteLength === 0) return [];
    const soundFormat = body[0]! >> 4;
    if (soundFormat === AUDIO_EX_HEADER) {
      const code = fourcc(body, 1);
      return this.#fatal(`unsupported audio codec '${code}' (enhanced RTMP): send AAC-LC`);
    }
    if (soundFormat !== AAC) {
      const name = AUDIO_CODECS[soundFormat] ?? 'unknown';
      return this.#fatal(`unsupported audio codec id ${soundFormat} (${name}): send AAC-LC`);
    }
    if (body.byteLength < 2) return [this.#error('AAC audio tag has no AACPacketType')];
    const payload = body.subarray(2);
    // AACPacketType (E.4.2.2): 0 = AudioSpecificConfig, 1 = raw frame.
    if (body[1] === 0) return this.#audioConfig(payload);
    const track = this.#audio;
    if (track.config === undefined) return this.#beforeConfig('audio', track);
    if (payload.byteLength === 0) return [];
    const dts = track.unwrapper.unwrap(timestamp >>> 0);
    return [
      { type: 'unit', unit: { kind: 'audio', dts, pts: dts, keyframe: true, data: payload, receivedAt } },
    ];
  }

  #videoConfig(record: Uint8Array): DemuxEvent[] {
    const track = this.#video;
    if (track.configBytes !== undefined && sameBytes(track.configBytes, record)) return [];
    const avc = parseAvcC(record);
    if (!avc.ok) return this.#fatal(`H.264 sequence header: ${avc.error}`);
    const sps = parseSps(avc.value.sps[0]!);
    if (!sps.ok) return this.#fatal(`H.264 sequence header: ${sps.error}`);
    this.#nalLengthSize = avc.value.nalLengthSize;
    this.#parameterSets = { sps: avc.value.sps[0]!.slice(), pps: avc.value.pps.map((p) => p.slice()) };
    // Samples leave the demuxer with 4-byte NAL lengths, so the avcC announced must say so (14496-15 5.3.3.1.2).
    const avcC =
      avc.value.nalLengthSize === 4 ? Uint8Array.from(record) : buildAvcC(avc.value.sps[0]!, avc.value.pps);
    track.configBytes = Uint8Array.from(record);
    track.framesWithoutConfig = 0;
    track.config = h264TrackConfig(RTMP_TIMESCALE, avcC, sps.value);
    return [{ type: 'config', track: track.config }];
  }

  /**
   * Parameter sets in a frame that differ from the config's: the new config. Samples leave without them (the
   * avcC carries them, ISO 14496-15 5.3.2), so a change in-band without a new sequence header (ffmpeg copying
   * a stream whose resolution changes, `-f concat -c copy`) would otherwise be decoded with the old SPS.
   */
  #inBandConfig(nals: readonly Uint8Array[]): DemuxEvent[] {
    const current = this.#parameterSets;
    const { sps, pps } = parameterSets(nals);
    const first = sps[0];
    if (!current || !first || pps.length === 0) return [];
    const known = (p: Uint8Array) => current.pps.some((q) => sameBytes(q, p));
    if (sameBytes(current.sps, first) && pps.every(known)) return [];
    const info = parseSps(first);
    if (!info.ok) return [this.#error(`in-band SPS: ${info.error}`)];
    this.#parameterSets = { sps: first.slice(), pps: pps.map((p) => p.slice()) };
    const avcC = buildAvcC(first, pps);
    this.#video.configBytes = avcC;
    this.#video.config = h264TrackConfig(RTMP_TIMESCALE, avcC, info.value);
    return [{ type: 'config', track: this.#video.config }];
  }

  #audioConfig(asc: Uint8Array): DemuxEvent[] {
    const track = this.#audio;
    // ffmpeg copying ADTS audio to FLV (`-c copy`, a common restream) writes an empty sequence header before it
    // knows the AudioSpecificConfig, then the real one: skip the empty one, counted, instead of ending the session.
    if (asc.byteLength === 0) return [this.#error('empty AAC sequence header, ignored')];
    if (track.configBytes !== undefined && sameBytes(track.configBytes, asc)) return [];
    const cfg = parseAudioSpecificConfig(asc);
    if (!cfg.ok) return this.#fatal(`AAC sequence header: ${cfg.error}`);
    if (cfg.value.objectType !== AAC_LC) {
      const name = AAC_OBJECT_TYPES[cfg.value.objectType] ?? `object type ${cfg.value.objectType}`;
      return this.#fatal(
        `unsupported AAC profile ${name}: send AAC-LC (${AAC_FRAME_SAMPLES} samples per frame)`,
      );
    }
    track.configBytes = Uint8Array.from(asc);
    track.framesWithoutConfig = 0;
    track.config = aacTrackConfig(RTMP_TIMESCALE, Uint8Array.from(asc), cfg.value);
    return [{ type: 'config', track: track.config }];
  }

  #beforeConfig(kind: TrackKind, track: TrackState): DemuxEvent[] {
    track.framesWithoutConfig++;
    if (track.framesWithoutConfig > this.#maxFramesBeforeConfig) {
      return this.#fatal(`${track.framesWithoutConfig - 1} ${kind} frames arrived without a sequence header`);
    }
    return [this.#error(`${kind} frame before its sequence header, dropped`)];
  }

  #error(reason: string): DemuxEvent {
    return { type: 'error', reason, fatal: false };
  }

  #fatal(reason: string): DemuxEvent[] {
    this.#failed = true;
    return [{ type: 'error', reason, fatal: true }];
  }
}
