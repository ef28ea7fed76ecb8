/**
 * The streaming fMP4 rewriter behind MP4 downloads: fed a run's fragments (moof + mdat, in order) by push(),
 * it hands back the same bytes with each moof's tfdt and mfhd sequence_number moved onto one continuous
 * timeline (timeline.ts). It assumes nothing about chunk boundaries: a moof is gathered whole (it is small),
 * every other box (mdat, styp, emsg, ...) passes through as views of the input chunks, never copied. The
 * output has exactly the input's length, so Content-Length is known before the first byte.
 */
import { BOX, Mp4Error } from './boxes.ts';
import type { InitTracks } from './init-tracks.ts';
import { readMoof, writeMoof } from './moof.ts';
import { Timeline } from './timeline.ts';

/** A moof bigger than this is not a live part's (ours are a few KB); refusing it bounds the memory held. */
const MAX_MOOF_BYTES = 4 * 1024 * 1024;

export class Mp4Rewriter {
  readonly timeline: Timeline;
  private readonly header = new Uint8Array(16);
  private headerFill = 0;
  /** The moof being gathered, or null. */
  private moof: Uint8Array | null = null;
  private moofFill = 0;
  /** Bytes left of a box that passes through. */
  private passLeft = 0;

  private readonly tracks: InitTracks;

  constructor(tracks: InitTracks, timeline?: Timeline) {
    this.tracks = tracks;
    this.timeline = timeline ?? new Timeline(tracks);
  }

  /** The bytes pushed next start a new session: its first moof plans a new shift. */
  beginSession(): void {
    if (!this.atBoxBoundary()) throw new Mp4Error('a session cannot start inside a box');
    this.timeline.beginSession();
  }

  /** Output for `chunk`: views of it and rewritten moofs, in order (possibly none, while a moof gathers). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    /** Bytes [run, at) of `chunk` pass through and are not yet handed out. */
    let run = 0;
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.passLeft > 0) {
        const n = Math.min(this.passLeft, chunk.byteLength - at);
        this.passLeft -= n;
        at += n;
      } else if (this.moof) {
        const n = Math.min(this.moof.byteLength - this.moofFill, chunk.byteLength - at);
        this.moof.set(chunk.subarray(at, at + n), this.moofFill);
        this.moofFill += n;
        at += n;
        run = at;
        if (this.moofFill === this.moof.byteLength) out.push(this.rewrite(this.moof));
      } else {
        const boxStart = at;
        const startedHere = this.headerFill === 0;
        at = this.gatherHeader(chunk, at);
        const header = this.completeHeader();
        if (!header) {
          // The header runs on into the next chunk: its bytes wait in `this.header`.
          if (boxStart > run) out.push(chunk.subarray(run, boxStart));
          run = at;
          continue;
        }
        if (header.type === BOX.moof) {
          if (header.size > MAX_MOOF_BYTES) throw new Mp4Error(`moof of ${header.size} bytes`);
          if (startedHere && boxStart > run) out.push(chunk.subarray(run, boxStart));
          this.moof = new Uint8Array(header.size);
          this.moof.set(this.header.subarray(0, header.length));
          this.moofFill = header.length;
          run = at;
        } else if (!startedHere) {
          out.push(this.header.slice(0, header.length));
          run = at;
        }
        this.headerFill = 0;
        this.passLeft = header.type === BOX.moof ? 0 : header.size - header.length;
        if (this.moof && this.moofFill === this.moof.byteLength) out.push(this.rewrite(this.moof));
      }
    }
    if (at > run) out.push(chunk.subarray(run, at));
    return out;
  }

  /** The input has ended: it must end on a box boundary. */
  flush(): void {
    if (!this.atBoxBoundary()) throw new Mp4Error('input ends inside a box');
  }

  private atBoxBoundary(): boolean {
    return this.headerFill === 0 && this.passLeft === 0 && this.moof === null;
  }

  private gatherHeader(chunk: Uint8Array, at: number): number {
    // 8 bytes of size and type, 16 when size is 1 (a 64-bit largesize follows).
    const want = this.headerFill >= 8 && readU32(this.header, 0) === 1 ? 16 : 8;
    const n = Math.min(want - this.headerFill, chunk.byteLength - at);
    this.header.set(chunk.subarray(at, at + n), this.headerFill);
    this.headerFill += n;
    at += n;
    if (this.headerFill === 8 && readU32(this.header, 0) === 1 && at < chunk.byteLength) {
      return this.gatherHeader(chunk, at);
    }
    return at;
  }

  private completeHeader(): { type: number; size: number; length: number } | null {
    if (this.headerFill < 8) return null;
    const size32 = readU32(this.header, 0);
    const type = readU32(this.header, 4);
    if (size32 === 1) {
      if (this.headerFill < 16) return null;
      const size = Number(new DataView(this.header.buffer).getBigUint64(8));
      if (size < 16) throw new Mp4Error(`box size ${size}`);
      return { type, size, length: 16 };
    }
    // size 0 ("to the end of the file") cannot be honoured in a run of concatenated objects.
    if (size32 < 8) throw new Mp4Error(`box size ${size32}`);
    return { type, size: size32, length: 8 };
  }

  private rewrite(moof: Uint8Array): Uint8Array {
    this.moof = null;
    this.moofFill = 0;
    const times = readMoof(moof, this.tracks);
    writeMoof(moof, times, this.timeline.place(times));
    return moof;
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] ?? 0) << 24) |
      ((bytes[at + 1] ?? 0) << 16) |
      ((bytes[at + 2] ?? 0) << 8) |
      (bytes[at + 3] ?? 0)) >>>
    0
  );
}
