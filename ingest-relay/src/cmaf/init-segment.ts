/**
 * The CMAF header (init segment): ftyp + moov with one trak per track and mvex/trex (ISO 14496-12, ISO 23000-19
 * 7.3). Sample tables are empty: every sample lives in fragments.
 *
 *   ftyp
 *   moov
 *     mvhd
 *     trak (per track)
 *       tkhd
 *       mdia
 *         mdhd            track timescale (90 kHz video, sample rate audio)
 *         hdlr            vide | soun
 *         minf
 *           vmhd | smhd
 *           dinf / dref / url
 *           stbl
 *             stsd -> avc1 (avcC, pasp) | mp4a (esds)
 *             stts, stsc, stsz, stco   (empty)
 *     mvex
 *       trex (per track)
 */
import type { AudioTrackConfig, TrackConfig, VideoTrackConfig } from '../media/access-unit.ts';
import { box, fields, fullBox, writeUnityMatrix } from './box.ts';

/** Video track timescale (90 kHz ticks); audio tracks use their sample rate. */
export const VIDEO_TIMESCALE = 90_000;

export interface MuxTrack {
  /** track_ID, from 1. */
  id: number;
  config: TrackConfig;
  /** Media timescale of the track in the output (mdhd). */
  timescale: number;
}

export function trackTimescale(config: TrackConfig): number {
  return config.kind === 'video' ? VIDEO_TIMESCALE : config.sampleRate;
}

export function initSegment(tracks: readonly MuxTrack[]): Uint8Array {
  return new Uint8Array([...ftyp(), ...moov(tracks)]);
}

/** ISO 23000-19 7.2: CMAF brand `cmfc`, on top of ISO BMFF `iso6` (which has default-base-is-moof). */
function ftyp(): Uint8Array {
  const brands = ['iso6', 'cmfc', 'mp41'];
  return box(
    'ftyp',
    new TextEncoder().encode('iso6'),
    fields((w) => w.u32(0)),
    ...brands.map((b) => new TextEncoder().encode(b)),
  );
}

function moov(tracks: readonly MuxTrack[]): Uint8Array {
  return box(
    'moov',
    mvhd(tracks.length + 1),
    ...tracks.map(trak),
    box(
      'mvex',
      ...tracks.map((t) =>
        fullBox(
          'trex',
          0,
          0,
          fields((w) => w.u32(t.id).u32(1).u32(0).u32(0).u32(0)),
        ),
      ),
    ),
  );
}

/** 8.2.2: movie header; duration 0 because the movie is fragmented (duration is in the fragments). */
function mvhd(nextTrackId: number): Uint8Array {
  return fullBox(
    'mvhd',
    0,
    0,
    fields((w) => {
      w.u32(0).u32(0).u32(1000).u32(0); // creation, modification, timescale (ms), duration
      w.u32(0x00010000).u16(0x0100).u16(0).u32(0).u32(0); // rate 1.0, volume 1.0, reserved
      writeUnityMatrix(w);
      for (let i = 0; i < 6; i++) w.u32(0); // pre_defined
      w.u32(nextTrackId);
    }),
  );
}

function trak(t: MuxTrack): Uint8Array {
  const video = t.config.kind === 'video';
  return box('trak', tkhd(t), box('mdia', mdhd(t.timescale), hdlr(video), minf(t)));
}

/** 8.3.2: flags 3 = track_enabled | track_in_movie. */
function tkhd(t: MuxTrack): Uint8Array {
  const { config } = t;
  return fullBox(
    'tkhd',
    0,
    3,
    fields((w) => {
      w.u32(0).u32(0).u32(t.id).u32(0).u32(0); // creation, modification, track_ID, reserved, duration
      w.u32(0).u32(0).u16(0).u16(0); // reserved, layer, alternate_group
      w.u16(config.kind === 'audio' ? 0x0100 : 0).u16(0);
      writeUnityMatrix(w);
      const width = config.kind === 'video' ? config.width : 0;
      const height = config.kind === 'video' ? config.height : 0;
      w.u32(width * 0x10000).u32(height * 0x10000); // 16.16 fixed point
    }),
  );
}

/** 8.4.2: language 'und' packed as three 5-bit letters (ISO 639-2/T). */
function mdhd(timescale: number): Uint8Array {
  return fullBox(
    'mdhd',
    0,
    0,
    fields((w) => w.u32(0).u32(0).u32(timescale).u32(0).u16(0x55c4).u16(0)),
  );
}

function hdlr(video: boolean): Uint8Array {
  const name = new TextEncoder().encode(video ? 'VideoHandler\0' : 'SoundHandler\0');
  return fullBox(
    'hdlr',
    0,
    0,
    fields((w) => w.u32(0)),
    new TextEncoder().encode(video ? 'vide' : 'soun'),
    fields((w) => w.u32(0).u32(0).u32(0)),
    name,
  );
}

function minf(t: MuxTrack): Uint8Array {
  const header =
    t.config.kind === 'video'
      ? fullBox(
          'vmhd',
          0,
          1,
          fields((w) => w.u16(0).u16(0).u16(0).u16(0)),
        )
      : fullBox(
          'smhd',
          0,
          0,
          fields((w) => w.u16(0).u16(0)),
        );
  const dinf = box(
    'dinf',
    fullBox(
      'dref',
      0,
      0,
      fields((w) => w.u32(1)),
      fullBox('url ', 0, 1),
    ),
  );
  return box('minf', header, dinf, stbl(t));
}

function stbl(t: MuxTrack): Uint8Array {
  const entry = t.config.kind === 'video' ? avc1(t.config) : mp4a(t.config, t.id);
  return box(
    'stbl',
    fullBox(
      'stsd',
      0,
      0,
      fields((w) => w.u32(1)),
      entry,
    ),
    fullBox(
      'stts',
      0,
      0,
      fields((w) => w.u32(0)),
    ),
    fullBox(
      'stsc',
      0,
      0,
      fields((w) => w.u32(0)),
    ),
    fullBox(
      'stsz',
      0,
      0,
      fields((w) => w.u32(0).u32(0)),
    ),
    fullBox(
      'stco',
      0,
      0,
      fields((w) => w.u32(0)),
    ),
  );
}

/** ISO 14496-15 5.4.2: VisualSampleEntry 'avc1' (parameter sets only in avcC) with its avcC. */
function avc1(c: VideoTrackConfig): Uint8Array {
  const entry = fields((w) => {
    w.u32(0).u16(0).u16(1); // reserved[6], data_reference_index
    w.u16(0).u16(0).u32(0).u32(0).u32(0); // pre_defined, reserved, pre_defined[3]
    w.u16(c.width).u16(c.height);
    w.u32(0x00480000).u32(0x00480000).u32(0).u16(1); // 72 dpi, reserved, frame_count
    for (let i = 0; i < 32; i++) w.u8(0); // compressorname
    w.u16(0x0018).u16(0xffff); // depth, pre_defined = -1
  });
  // pasp only when the SPS declares a sample aspect ratio other than 1:1.
  const sar = c.sar;
  const pasp =
    sar && (sar.width !== 1 || sar.height !== 1)
      ? [
          box(
            'pasp',
            fields((w) => w.u32(sar.width).u32(sar.height)),
          ),
        ]
      : [];
  return box('avc1', entry, box('avcC', c.avcC), ...pasp);
}

/** ISO 14496-14 5.6: AudioSampleEntry 'mp4a' with an esds. */
function mp4a(c: AudioTrackConfig, esId: number): Uint8Array {
  const entry = fields((w) => {
    w.u32(0).u16(0).u16(1); // reserved[6], data_reference_index
    w.u32(0).u32(0); // reserved
    w.u16(c.channelCount).u16(16).u16(0).u16(0); // channelcount, samplesize, pre_defined, reserved
    w.u32(Math.min(c.sampleRate, 0xffff) * 0x10000); // 16.16; rates above 65535 do not fit (mdhd has it)
  });
  return box('mp4a', entry, esds(c.audioSpecificConfig, esId));
}

/**
 * ISO 14496-1 7.2.6.5: ES_Descriptor { DecoderConfigDescriptor { DecoderSpecificInfo = ASC }, SLConfigDescriptor }.
 * objectTypeIndication 0x40 = MPEG-4 Audio; streamType 5 = audio (shifted, with upStream 0 and reserved 1).
 */
function esds(asc: Uint8Array, esId: number): Uint8Array {
  const descriptor = (tag: number, ...body: Uint8Array[]) => {
    const len = body.reduce((s, b) => s + b.byteLength, 0);
    return new Uint8Array([tag, len, ...body.flatMap((b) => [...b])]);
  };
  const decoderSpecific = descriptor(0x05, asc);
  const decoderConfig = descriptor(
    0x04,
    fields((w) => w.u8(0x40).u8(0x15).u24(0).u32(0).u32(0)),
    decoderSpecific,
  );
  const sl = descriptor(0x06, new Uint8Array([0x02]));
  const es = descriptor(
    0x03,
    fields((w) => w.u16(esId).u8(0)),
    decoderConfig,
    sl,
  );
  return fullBox('esds', 0, 0, es);
}
