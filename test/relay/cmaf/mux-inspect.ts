/** mux.js's MP4 inspector, an independent box reader (mux.js ships no types: the shapes used here). */
import { createRequire } from 'node:module';

export interface InspectedBox {
  type: string;
  size: number;
  boxes?: InspectedBox[];
  sequenceNumber?: number;
  trackId?: number;
  baseMediaDecodeTime?: number;
  dataOffset?: number;
  samples?: {
    duration: number;
    size: number;
    compositionTimeOffset: number;
    flags: { isNonSyncSample: number };
  }[];
}

const require = createRequire(import.meta.url);
const muxjs = require('mux.js') as { mp4: { tools: { inspect(bytes: Uint8Array): InspectedBox[] } } };

export function inspectMp4(bytes: Uint8Array): InspectedBox[] {
  return muxjs.mp4.tools.inspect(bytes);
}

export function findBoxes(boxes: readonly InspectedBox[], type: string): InspectedBox[] {
  return boxes.flatMap((b) => [...(b.type === type ? [b] : []), ...findBoxes(b.boxes ?? [], type)]);
}
