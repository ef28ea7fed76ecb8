/**
 * The times of one movie fragment, read from its moof, and the rewrite of those times in place
 * (ISO/IEC 14496-12 8.8.4 - 8.8.12).
 *
 *   moof
 *     mfhd               sequence_number
 *     traf (per track)
 *       tfhd             track_ID; optional default_sample_duration (flag 0x08)
 *       tfdt             baseMediaDecodeTime: v1 64-bit, v0 32-bit (track timescale ticks)
 *       trun (1 or more) sample_count; per-sample durations when flag 0x100
 *
 * The rewrite changes values only, never a size, so a moof keeps its length and every trun data_offset
 * stays right.
 */
import { BOX, childBoxes, Mp4Error, need } from './boxes.ts';
import type { InitTracks } from './init-tracks.ts';

export interface TrackFragmentTimes {
  trackId: number;
  /** Decode time of the fragment's first sample, track timescale ticks. */
  baseMediaDecodeTime: bigint;
  /** Sum of the fragment's sample durations, track timescale ticks. */
  duration: bigint;
  /** Offset of the tfdt value inside the moof. */
  tfdtAt: number;
  /** tfdt version 1 (64-bit value); version 0 holds 32 bits. */
  tfdtWide: boolean;
}

export interface MoofTimes {
  sequenceNumber: number;
  /** Offset of the mfhd sequence_number inside the moof. */
  sequenceAt: number;
  tracks: TrackFragmentTimes[];
}

/** The values a moof gets in the output file. */
export interface PlacedMoof {
  sequenceNumber: number;
  /** Output baseMediaDecodeTime of each of `MoofTimes.tracks`, in the same order. */
  baseMediaDecodeTimes: bigint[];
}

const TFHD_BASE_DATA_OFFSET = 0x01;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x02;
const TFHD_DEFAULT_SAMPLE_DURATION = 0x08;
const TRUN_DATA_OFFSET = 0x01;
const TRUN_FIRST_SAMPLE_FLAGS = 0x04;
const TRUN_SAMPLE_DURATION = 0x100;
const TRUN_SAMPLE_SIZE = 0x200;
const TRUN_SAMPLE_FLAGS = 0x400;
const TRUN_SAMPLE_CTO = 0x800;

/** `moof` is one whole moof box, header included. */
export function readMoof(moof: Uint8Array, tracks: InitTracks): MoofTimes {
  const view = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
  const top = childBoxes(view, 0, moof.byteLength)[0];
  if (!top || top.type !== BOX.moof) throw new Mp4Error('not a moof');
  let sequenceAt = -1;
  const times: TrackFragmentTimes[] = [];
  for (const box of childBoxes(view, top.body, top.end)) {
    if (box.type === BOX.mfhd) {
      need(box, 4, 'mfhd');
      sequenceAt = box.body + 4;
    } else if (box.type === BOX.traf) {
      times.push(readTraf(view, box.body, box.end, tracks));
    }
  }
  if (sequenceAt < 0) throw new Mp4Error('moof without mfhd');
  return { sequenceNumber: view.getUint32(sequenceAt), sequenceAt, tracks: times };
}

function readTraf(view: DataView, start: number, end: number, tracks: InitTracks): TrackFragmentTimes {
  let trackId = -1;
  let defaultDuration = 0;
  let tfdtAt = -1;
  let tfdtWide = true;
  let samples = 0;
  let duration = 0n;
  for (const box of childBoxes(view, start, end)) {
    if (box.type === BOX.tfhd) {
      need(box, 4, 'tfhd');
      const flags = view.getUint32(box.body) & 0xffffff;
      trackId = view.getUint32(box.body + 4);
      const track = tracks.get(trackId);
      if (!track) throw new Mp4Error(`fragment of track ${trackId}, which the init does not declare`);
      defaultDuration = track.defaultSampleDuration;
      if (flags & TFHD_DEFAULT_SAMPLE_DURATION) {
        const at =
          8 + (flags & TFHD_BASE_DATA_OFFSET ? 8 : 0) + (flags & TFHD_SAMPLE_DESCRIPTION_INDEX ? 4 : 0);
        need(box, at, 'tfhd');
        defaultDuration = view.getUint32(box.body + at);
      }
    } else if (box.type === BOX.tfdt) {
      tfdtWide = view.getUint8(box.body) === 1;
      need(box, tfdtWide ? 8 : 4, 'tfdt');
      tfdtAt = box.body + 4;
    } else if (box.type === BOX.trun) {
      if (trackId < 0) throw new Mp4Error('trun before tfhd');
      const run = trunDuration(view, box.body, box.end, defaultDuration);
      samples += run.samples;
      duration += run.duration;
    }
  }
  if (trackId < 0) throw new Mp4Error('traf without tfhd');
  // CMAF fragments carry a tfdt (ISO/IEC 23000-19 7.3.2.3); without one there is no base to rebase.
  if (tfdtAt < 0) throw new Mp4Error(`traf of track ${trackId} without tfdt`);
  const base = tfdtWide ? view.getBigUint64(tfdtAt) : BigInt(view.getUint32(tfdtAt));
  return { trackId, baseMediaDecodeTime: base, duration: samples ? duration : 0n, tfdtAt, tfdtWide };
}

function trunDuration(
  view: DataView,
  body: number,
  end: number,
  defaultDuration: number,
): { samples: number; duration: bigint } {
  if (body + 8 > end) throw new Mp4Error('truncated trun');
  const flags = view.getUint32(body) & 0xffffff;
  const count = view.getUint32(body + 4);
  if (!(flags & TRUN_SAMPLE_DURATION))
    return { samples: count, duration: BigInt(count) * BigInt(defaultDuration) };
  let at = body + 8 + (flags & TRUN_DATA_OFFSET ? 4 : 0) + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
  const stride =
    4 +
    (flags & TRUN_SAMPLE_SIZE ? 4 : 0) +
    (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) +
    (flags & TRUN_SAMPLE_CTO ? 4 : 0);
  if (at + count * stride > end) throw new Mp4Error('trun sample table overruns the box');
  let sum = 0; // a 32-bit duration times a sample count stays far below 2^53 for any real fragment
  for (let i = 0; i < count; i++, at += stride) sum += view.getUint32(at);
  return { samples: count, duration: BigInt(sum) };
}

const U32_MAX = 0xffffffffn;

/** Writes `placed` into `moof` (the bytes `times` was read from). */
export function writeMoof(moof: Uint8Array, times: MoofTimes, placed: PlacedMoof): void {
  const view = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
  view.setUint32(times.sequenceAt, placed.sequenceNumber);
  times.tracks.forEach((track, i) => {
    const value = placed.baseMediaDecodeTimes[i] ?? track.baseMediaDecodeTime;
    if (track.tfdtWide) {
      view.setBigUint64(track.tfdtAt, value);
    } else {
      // A version 0 tfdt keeps its 4 bytes, so that Content-Length holds; a time past 2^32 ticks cannot be
      // written in it, and the stream stops rather than wrap (at 90 kHz that is 13.2 hours into the run).
      if (value > U32_MAX)
        throw new Mp4Error(`track ${track.trackId}: tfdt ${value} does not fit a version 0 tfdt`);
      view.setUint32(track.tfdtAt, Number(value));
    }
  });
}
