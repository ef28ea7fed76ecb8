/**
 * Reads what a playlist needs from a CMAF init segment: RFC 6381 codec strings and the video size.
 * A small ISO-BMFF walk (ISO/IEC 14496-12): moov/trak/mdia/minf/stbl/stsd -> sample entries.
 *   avc1/avc3 -> avcC: `avc1.PPCCLL` from AVCDecoderConfigurationRecord bytes 1..3 (ISO/IEC 14496-15 5.3.3.1)
 *   mp4a -> esds -> DecoderSpecificInfo: `mp4a.40.<audioObjectType>` (ISO/IEC 14496-3 1.6.2.1)
 * Malformed input gives an InitInfoError, never an exception of another kind.
 */
import { hex } from '../registry/ids.ts';

export interface InitInfo {
  /** RFC 6381 codecs, video first, comma separated. */
  codecs: string[];
  width?: number;
  height?: number;
}

export class InitInfoError extends Error {}

interface Box {
  type: string;
  /** Offset of the payload (after size/type). */
  body: number;
  end: number;
}

const CONTAINERS = ['moov', 'trak', 'mdia', 'minf', 'stbl'];

export function readInitInfo(bytes: Uint8Array): InitInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  function boxes(start: number, end: number): Box[] {
    const out: Box[] = [];
    let at = start;
    while (at + 8 <= end) {
      let size = view.getUint32(at);
      let header = 8;
      if (size === 1) {
        if (at + 16 > end) throw new InitInfoError('truncated largesize box');
        size = Number(view.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) {
        size = end - at;
      }
      if (size < header || at + size > end) throw new InitInfoError(`box at ${at} overruns its parent`);
      out.push({ type: fourcc(at + 4), body: at + header, end: at + size });
      at += size;
    }
    return out;
  }

  function fourcc(at: number): string {
    return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
  }

  const codecs: { video: string[]; audio: string[] } = { video: [], audio: [] };
  let width: number | undefined;
  let height: number | undefined;

  function sampleEntries(stsd: Box): void {
    // stsd is a FullBox: version/flags (4) + entry_count (4), then the sample entries.
    for (const entry of boxes(stsd.body + 8, stsd.end)) {
      if (entry.type === 'avc1' || entry.type === 'avc3') {
        // VisualSampleEntry: 6 reserved + 2 data_reference_index + 16 predefined/reserved, then width, height
        // (16 bits each), then 50 more bytes before the child boxes (14496-12 12.1.3).
        if (entry.body + 78 > entry.end) throw new InitInfoError('truncated visual sample entry');
        width = view.getUint16(entry.body + 24);
        height = view.getUint16(entry.body + 26);
        const avcC = boxes(entry.body + 78, entry.end).find((b) => b.type === 'avcC');
        if (!avcC || avcC.body + 4 > avcC.end) throw new InitInfoError(`${entry.type} without avcC`);
        codecs.video.push(`${entry.type}.${hex(bytes.subarray(avcC.body + 1, avcC.body + 4))}`);
      } else if (entry.type === 'mp4a') {
        // AudioSampleEntry: 8 + 8 reserved + channelcount/samplesize/predefined/reserved/samplerate = 28 bytes.
        const esds = boxes(entry.body + 28, entry.end).find((b) => b.type === 'esds');
        codecs.audio.push(`mp4a.40.${esds ? audioObjectType(esds) : 2}`);
      }
    }
  }

  /** Walks ES_Descriptor (tag 3) -> DecoderConfigDescriptor (4) -> DecoderSpecificInfo (5) (14496-1 7.2.6). */
  function audioObjectType(esds: Box): number {
    let at = esds.body + 4; // FullBox header
    const descriptor = (): { tag: number; body: number; end: number } => {
      const tag = bytes[at] ?? 0;
      at++;
      let length = 0;
      for (let i = 0; i < 4; i++) {
        const b = bytes[at++] ?? 0;
        length = (length << 7) | (b & 0x7f);
        if ((b & 0x80) === 0) break;
      }
      return { tag, body: at, end: at + length };
    };
    const es = descriptor();
    if (es.tag !== 3) throw new InitInfoError('esds without ES_Descriptor');
    const flags = bytes[at + 2] ?? 0;
    at += 3;
    if (flags & 0x80) at += 2; // dependsOn_ES_ID
    if (flags & 0x40) at += 1 + (bytes[at] ?? 0); // URL
    if (flags & 0x20) at += 2; // OCR_ES_Id
    const config = descriptor();
    if (config.tag !== 4) throw new InitInfoError('esds without DecoderConfigDescriptor');
    at += 13;
    const info = descriptor();
    if (info.tag !== 5 || info.body >= esds.end) return 2;
    // AudioSpecificConfig: 5-bit audioObjectType; 31 escapes to 32 + the next 6 bits.
    const first = bytes[info.body] ?? 0;
    const aot = first >> 3;
    if (aot !== 31) return aot;
    const second = bytes[info.body + 1] ?? 0;
    return 32 + (((first & 0x07) << 3) | (second >> 5));
  }

  function walk(start: number, end: number): void {
    for (const box of boxes(start, end)) {
      if (CONTAINERS.includes(box.type)) walk(box.body, box.end);
      else if (box.type === 'stsd') sampleEntries(box);
    }
  }

  try {
    walk(0, bytes.byteLength);
  } catch (err) {
    if (err instanceof InitInfoError) throw err;
    throw new InitInfoError(`malformed init segment: ${(err as Error).message}`);
  }
  const all = [...codecs.video, ...codecs.audio];
  if (all.length === 0) throw new InitInfoError('init segment has no avc1/avc3/mp4a sample entry');
  const info: InitInfo = { codecs: all };
  if (width !== undefined && height !== undefined) {
    info.width = width;
    info.height = height;
  }
  return info;
}
