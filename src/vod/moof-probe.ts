/**
 * The times of a part's fragments without reading its media: a part starts with its moof, so a small ranged
 * R2 read of its head gives the moof and the mdat header after it, and the mdat itself is skipped. One read
 * per part in the usual case (one moof + mdat, moof well under PROBE_BYTES); one more per further fragment.
 * Used to start a ranged download mid-run, where the shifts of the sessions before the range are needed.
 */
import { BOX, Mp4Error } from './boxes.ts';
import type { InitTracks } from './init-tracks.ts';
import { type MoofTimes, readMoof } from './moof.ts';

export const PROBE_BYTES = 4096;

export interface StoredObject {
  key: string;
  /** The byte count the recording index holds; a stored object of another size is an error. */
  size: number;
}

/** Thrown when an object is missing or not the size recorded: serving it would give a corrupt file. */
export class MissingMediaError extends Error {}

export async function readRange(bucket: R2Bucket, part: StoredObject, offset: number, length: number) {
  const object = await bucket.get(part.key, { range: { offset, length } });
  if (!object) throw new MissingMediaError(`${part.key} is missing`);
  if (object.size !== part.size) {
    await object.body.cancel();
    throw new MissingMediaError(`${part.key} is ${object.size} bytes, the recording says ${part.size}`);
  }
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (bytes.byteLength !== length) throw new MissingMediaError(`${part.key}: short read at ${offset}`);
  return bytes;
}

/** The part's moofs in order; only the first when `firstOnly`. */
export async function probeMoofs(
  bucket: R2Bucket,
  part: StoredObject,
  tracks: InitTracks,
  firstOnly: boolean,
): Promise<MoofTimes[]> {
  const out: MoofTimes[] = [];
  let buffer = new Uint8Array(0);
  let bufferAt = 0;
  let at = 0;
  const load = async (length: number) => {
    buffer = await readRange(bucket, part, at, Math.min(Math.max(length, PROBE_BYTES), part.size - at));
    bufferAt = at;
  };
  while (at < part.size) {
    if (at + 8 > part.size) throw new Mp4Error(`${part.key}: truncated box header at ${at}`);
    if (at + 16 > bufferAt + buffer.byteLength) await load(PROBE_BYTES);
    const view = new DataView(buffer.buffer, buffer.byteOffset + (at - bufferAt));
    const size32 = view.getUint32(0);
    const size = size32 === 1 && view.byteLength >= 16 ? Number(view.getBigUint64(8)) : size32;
    if (size < 8 || at + size > part.size) throw new Mp4Error(`${part.key}: box at ${at} overruns the part`);
    if (view.getUint32(4) === BOX.moof) {
      if (at + size > bufferAt + buffer.byteLength) await load(size);
      out.push(readMoof(buffer.subarray(at - bufferAt, at - bufferAt + size), tracks));
      if (firstOnly) break;
    }
    at += size;
  }
  return out;
}
