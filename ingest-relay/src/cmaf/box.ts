/**
 * ISO BMFF box primitives (ISO 14496-12 4.2): a box is a 32-bit size, a four-character type and a payload; a
 * full box adds an 8-bit version and 24-bit flags. Every box in `init-segment.ts` and `fragment.ts` is a small
 * function over these two.
 */
import { ByteWriter } from '../codec/bytes.ts';

const ascii = new TextEncoder();

export function box(type: string, ...payloads: Uint8Array[]): Uint8Array {
  let size = 8;
  for (const p of payloads) size += p.byteLength;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(fourcc(type), 4);
  let at = 8;
  for (const p of payloads) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function fullBox(type: string, version: number, flags: number, ...payloads: Uint8Array[]): Uint8Array {
  const head = new ByteWriter(4).u8(version).u24(flags).finish();
  return box(type, head, ...payloads);
}

export function fourcc(type: string): Uint8Array {
  const bytes = ascii.encode(type);
  if (bytes.byteLength !== 4) throw new Error(`box type must be four ASCII characters: ${type}`);
  return bytes;
}

/** Builds a payload with a writer (for fields), returning its bytes. */
export function fields(write: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(64);
  write(w);
  return w.finish();
}

/** The unity transformation matrix of mvhd/tkhd (8.2.2.3), 16.16 and 2.30 fixed point. */
export function writeUnityMatrix(w: ByteWriter): void {
  for (const v of [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000]) w.u32(v);
}
