/**
 * What the rewriter needs from a CMAF header (init segment), per track: the media timescale (mdhd, the unit of
 * every tfdt and sample duration) and the trex default_sample_duration, which a fragment uses when neither its
 * trun nor its tfhd gives durations (ISO/IEC 14496-12 8.8.3, 8.8.7, 8.8.8).
 *
 *   moov
 *     trak / tkhd (track_ID) / mdia / mdhd (timescale)
 *     mvex / trex (track_ID, default_sample_duration)
 */
import { BOX, type BoxSpan, childBoxes, Mp4Error, need } from './boxes.ts';

export interface InitTrack {
  trackId: number;
  /** Ticks per second of the track's media timeline. */
  timescale: number;
  /** trex default_sample_duration, track timescale ticks (0 when the init gives none). */
  defaultSampleDuration: number;
}

export type InitTracks = ReadonlyMap<number, InitTrack>;

export function readInitTracks(init: Uint8Array): InitTracks {
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const moov = childBoxes(view, 0, init.byteLength).find((b) => b.type === BOX.moov);
  if (!moov) throw new Mp4Error('init segment has no moov');
  const tracks = new Map<number, InitTrack>();
  const defaults = new Map<number, number>();
  for (const box of childBoxes(view, moov.body, moov.end)) {
    if (box.type === BOX.trak) {
      const track = readTrak(view, box);
      tracks.set(track.trackId, track);
    } else if (box.type === BOX.mvex) {
      for (const trex of childBoxes(view, box.body, box.end).filter((b) => b.type === BOX.trex)) {
        // trex: version/flags, track_ID, default_sample_description_index, default_sample_duration, ...
        need(trex, 12, 'trex');
        defaults.set(view.getUint32(trex.body + 4), view.getUint32(trex.body + 12));
      }
    }
  }
  if (tracks.size === 0) throw new Mp4Error('init segment has no track');
  for (const [id, duration] of defaults) {
    const track = tracks.get(id);
    if (track) track.defaultSampleDuration = duration;
  }
  return tracks;
}

function readTrak(view: DataView, trak: BoxSpan): InitTrack {
  let trackId: number | undefined;
  let timescale: number | undefined;
  for (const box of childBoxes(view, trak.body, trak.end)) {
    if (box.type === BOX.tkhd) {
      // tkhd v1: 64-bit creation/modification times before track_ID; v0: 32-bit (8.3.2).
      const wide = view.getUint8(box.body) === 1;
      need(box, wide ? 20 : 12, 'tkhd');
      trackId = view.getUint32(box.body + (wide ? 20 : 12));
    } else if (box.type === BOX.mdia) {
      const mdhd = childBoxes(view, box.body, box.end).find((b) => b.type === BOX.mdhd);
      if (!mdhd) throw new Mp4Error('mdia without mdhd');
      // mdhd: the same layout as tkhd up to the timescale (8.4.2).
      const wide = view.getUint8(mdhd.body) === 1;
      need(mdhd, wide ? 20 : 12, 'mdhd');
      timescale = view.getUint32(mdhd.body + (wide ? 20 : 12));
    }
  }
  if (trackId === undefined || !timescale) throw new Mp4Error('trak without track_ID or timescale');
  return { trackId, timescale, defaultSampleDuration: 0 };
}
