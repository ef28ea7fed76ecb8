/**
 * Track configs as the demuxers make them, with the codec facts they have just parsed (the SPS of an avcC, the
 * fields of an AudioSpecificConfig or ADTS header). Everything downstream reads these facts from the config.
 */
import { aacCodecString } from '../codec/aac.ts';
import { avcCodecString, profileName, type SpsInfo } from '../codec/h264.ts';
import type { AudioTrackConfig, VideoTrackConfig } from './access-unit.ts';

/** An H.264 track: `avcC` as the samples are written (4-byte NAL lengths), `sps` its first SPS, parsed. */
export function h264TrackConfig(timescale: number, avcC: Uint8Array, sps: SpsInfo): VideoTrackConfig {
  const config: VideoTrackConfig = {
    kind: 'video',
    codec: 'h264',
    timescale,
    avcC,
    width: sps.width,
    height: sps.height,
    codecString: avcCodecString(avcC),
    profile: profileName(sps.profileIdc, sps.constraintFlags),
  };
  if (sps.frameRate !== undefined) config.frameRate = sps.frameRate;
  if (sps.sar) config.sar = sps.sar;
  return config;
}

/** ISO 14496-3 1.5.1.1 Audio Object Types, by the names encoders and players show. */
const AAC_PROFILES: Readonly<Record<number, string>> = { 1: 'Main', 2: 'LC', 5: 'HE-AAC', 29: 'HE-AACv2' };

export interface AacFacts {
  objectType: number;
  sampleRate: number;
  channelCount: number;
}

/** An AAC track: `asc` the AudioSpecificConfig, `facts` read from it (FLV) or from the ADTS header (MPEG-TS). */
export function aacTrackConfig(timescale: number, asc: Uint8Array, facts: AacFacts): AudioTrackConfig {
  return {
    kind: 'audio',
    codec: 'aac',
    timescale,
    audioSpecificConfig: asc,
    sampleRate: facts.sampleRate,
    channelCount: facts.channelCount,
    codecString: aacCodecString(asc),
    objectType: facts.objectType,
    profile: AAC_PROFILES[facts.objectType] ?? `AOT ${facts.objectType}`,
  };
}
