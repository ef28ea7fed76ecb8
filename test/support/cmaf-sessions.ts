/**
 * Test media for MP4 downloads across sessions, shared by the workerd and Node tests. `readFragments` is a
 * whole-buffer fragment reader written apart from src/vod (an independent oracle for its output);
 * `refragment` makes a second session from real samples: it takes the samples out of real CMAF parts (the
 * ffmpeg fixtures) and muxes them again with the relay's own fragment() at another tfdt base, as a
 * reconnecting or backup encoder would have stamped them.
 */
import { type FragmentTrack, fragment } from '../../ingest-relay/src/cmaf/fragment.ts';

export interface ReadSample {
  duration: number;
  size: number;
  cto: number;
  sync: boolean;
  /** Offset of the sample's bytes in the buffer read. */
  offset: number;
}

export interface ReadTrack {
  trackId: number;
  baseMediaDecodeTime: number;
  samples: ReadSample[];
}

export interface ReadFragment {
  sequenceNumber: number;
  /** Offsets in the buffer read. */
  moofStart: number;
  mdatEnd: number;
  tracks: ReadTrack[];
}

interface Span {
  type: string;
  start: number;
  end: number;
}

function spans(view: DataView, start: number, end: number): Span[] {
  const out: Span[] = [];
  for (let at = start; at < end; ) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4),
      view.getUint8(at + 5),
      view.getUint8(at + 6),
      view.getUint8(at + 7),
    );
    if (size < 8 || at + size > end) throw new Error(`bad ${type} box at ${at}`);
    out.push({ type, start: at, end: at + size });
    at += size;
  }
  return out;
}

/** Every moof + mdat pair of `bytes` (ftyp/moov are skipped), with samples resolved to their bytes. */
export function readFragments(bytes: Uint8Array): ReadFragment[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = spans(view, 0, bytes.byteLength);
  const out: ReadFragment[] = [];
  top.forEach((moof, i) => {
    if (moof.type !== 'moof') return;
    const mdat = top[i + 1];
    if (mdat?.type !== 'mdat') throw new Error('moof without mdat');
    const kids = spans(view, moof.start + 8, moof.end);
    const mfhd = kids.find((b) => b.type === 'mfhd');
    if (!mfhd) throw new Error('no mfhd');
    const tracks = kids.filter((b) => b.type === 'traf').map((traf) => readTraf(view, traf, moof.start));
    out.push({
      sequenceNumber: view.getUint32(mfhd.start + 12),
      moofStart: moof.start,
      mdatEnd: mdat.end,
      tracks,
    });
  });
  return out;
}

function readTraf(view: DataView, traf: Span, moofStart: number): ReadTrack {
  const kids = spans(view, traf.start + 8, traf.end);
  const tfhd = kids.find((b) => b.type === 'tfhd');
  const tfdt = kids.find((b) => b.type === 'tfdt');
  const trun = kids.find((b) => b.type === 'trun');
  if (!tfhd || !tfdt || !trun) throw new Error('traf without tfhd, tfdt or trun');
  const hf = view.getUint32(tfhd.start + 8) & 0xffffff;
  if (!(hf & 0x020000) || hf & 0x01) throw new Error('only default-base-is-moof fragments');
  let at = tfhd.start + 16 + (hf & 0x02 ? 4 : 0);
  const defDuration = hf & 0x08 ? view.getUint32(at) : 0;
  at += hf & 0x08 ? 4 : 0;
  const defSize = hf & 0x10 ? view.getUint32(at) : 0;
  at += hf & 0x10 ? 4 : 0;
  const defFlags = hf & 0x20 ? view.getUint32(at) : 0;
  const base =
    view.getUint8(tfdt.start + 8) === 1
      ? Number(view.getBigUint64(tfdt.start + 12))
      : view.getUint32(tfdt.start + 12);
  const rf = view.getUint32(trun.start + 8) & 0xffffff;
  const version = view.getUint8(trun.start + 8);
  const count = view.getUint32(trun.start + 12);
  at = trun.start + 16;
  let offset = moofStart + (rf & 0x01 ? view.getInt32(at) : 0);
  at += rf & 0x01 ? 4 : 0;
  const firstFlags = rf & 0x04 ? view.getUint32(at) : undefined;
  at += rf & 0x04 ? 4 : 0;
  const samples: ReadSample[] = [];
  for (let i = 0; i < count; i++) {
    const duration = rf & 0x100 ? view.getUint32(at) : defDuration;
    at += rf & 0x100 ? 4 : 0;
    const size = rf & 0x200 ? view.getUint32(at) : defSize;
    at += rf & 0x200 ? 4 : 0;
    const flags =
      rf & 0x400 ? view.getUint32(at) : i === 0 && firstFlags !== undefined ? firstFlags : defFlags;
    at += rf & 0x400 ? 4 : 0;
    const cto = rf & 0x800 ? (version === 1 ? view.getInt32(at) : view.getUint32(at)) : 0;
    at += rf & 0x800 ? 4 : 0;
    samples.push({ duration, size, cto, sync: (flags & 0x10000) === 0, offset });
    offset += size;
  }
  return { trackId: view.getUint32(tfhd.start + 12), baseMediaDecodeTime: base, samples };
}

/**
 * The samples of `parts` muxed again, one part per part, by the relay's fragment(): track `id` starts at
 * `bases[id]` (track timescale ticks) instead of its original first tfdt, and sequence numbers at
 * `firstSequence`. `sampleData` may stand other bytes in for each sample's (the benchmark's larger parts).
 */
export function refragment(
  parts: readonly Uint8Array[],
  bases: Readonly<Record<number, number>>,
  firstSequence: number,
  sampleData: (data: Uint8Array) => Uint8Array = (data) => data,
): Uint8Array[] {
  const origin = new Map<number, number>();
  return parts.map((bytes, i) => {
    const [frag, ...more] = readFragments(bytes);
    if (!frag || more.length) throw new Error('one fragment per part expected');
    const tracks: FragmentTrack[] = frag.tracks.map((t) => {
      if (!origin.has(t.trackId)) origin.set(t.trackId, t.baseMediaDecodeTime);
      const base = bases[t.trackId];
      if (base === undefined) throw new Error(`no base for track ${t.trackId}`);
      return {
        trackId: t.trackId,
        baseMediaDecodeTime: base + t.baseMediaDecodeTime - (origin.get(t.trackId) ?? 0),
        samples: t.samples.map((s) => ({
          duration: s.duration,
          cto: s.cto,
          sync: s.sync,
          data: sampleData(bytes.subarray(s.offset, s.offset + s.size)),
        })),
      };
    });
    return fragment(firstSequence + i, tracks);
  });
}

/** Per track: [first tfdt, end] of each fragment, in file order. */
export function trackTimes(
  fragments: readonly ReadFragment[],
): Map<number, { start: number; end: number }[]> {
  const out = new Map<number, { start: number; end: number }[]>();
  for (const f of fragments) {
    for (const t of f.tracks) {
      const end = t.baseMediaDecodeTime + t.samples.reduce((n, s) => n + s.duration, 0);
      out.set(t.trackId, [...(out.get(t.trackId) ?? []), { start: t.baseMediaDecodeTime, end }]);
    }
  }
  return out;
}
