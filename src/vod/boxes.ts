/**
 * ISO BMFF box walking over one buffered box (ISO/IEC 14496-12 4.2), for the small boxes the VOD rewriter
 * reads whole: the init's moov and each fragment's moof. Box types are compared as 32-bit numbers, so the hot
 * path builds no strings. Malformed input gives an Mp4Error, never an exception of another kind.
 */

export class Mp4Error extends Error {}

/** A four-character code as the big-endian 32-bit number it is on the wire. */
export function fourcc(code: string): number {
  return (
    ((code.charCodeAt(0) << 24) |
      (code.charCodeAt(1) << 16) |
      (code.charCodeAt(2) << 8) |
      code.charCodeAt(3)) >>>
    0
  );
}

export const BOX = {
  moov: fourcc('moov'),
  trak: fourcc('trak'),
  tkhd: fourcc('tkhd'),
  mdia: fourcc('mdia'),
  mdhd: fourcc('mdhd'),
  mvex: fourcc('mvex'),
  trex: fourcc('trex'),
  moof: fourcc('moof'),
  mfhd: fourcc('mfhd'),
  traf: fourcc('traf'),
  tfhd: fourcc('tfhd'),
  tfdt: fourcc('tfdt'),
  trun: fourcc('trun'),
} as const;

export interface BoxSpan {
  type: number;
  /** Offset of the payload (after size, type and any largesize). */
  body: number;
  end: number;
}

/** The boxes in `[start, end)` of `view`, each checked to fit inside its parent. */
export function childBoxes(view: DataView, start: number, end: number): BoxSpan[] {
  const out: BoxSpan[] = [];
  let at = start;
  while (at < end) {
    if (at + 8 > end) throw new Mp4Error(`truncated box header at ${at}`);
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) throw new Mp4Error(`truncated largesize box at ${at}`);
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at; // 4.2: the box extends to the end of its container
    }
    if (size < header || at + size > end) throw new Mp4Error(`box at ${at} overruns its parent`);
    out.push({ type: view.getUint32(at + 4), body: at + header, end: at + size });
    at += size;
  }
  return out;
}

/** Checks that a FullBox payload holds `bytes` after its version/flags word. */
export function need(box: BoxSpan, bytes: number, what: string): void {
  if (box.body + 4 + bytes > box.end) throw new Mp4Error(`truncated ${what}`);
}
