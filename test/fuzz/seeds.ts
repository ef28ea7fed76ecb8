/**
 * The seed corpus: the ffmpeg captures in test/fixtures/fuzz/ (made by make-seeds.ts) and the CMAF fixtures
 * in test/fixtures/media/, cut into the units each parser reads (a tag body, a TS packet, a datagram...).
 */
import { readFileSync } from 'node:fs';
import { concatBytes } from '../../ingest-relay/src/codec/bytes.ts';
import { parsePesHeader, parseTsPacket } from '../../ingest-relay/src/demux/mpegts/packet.ts';
import { ChunkReader } from '../../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { HANDSHAKE_SIZE } from '../../ingest-relay/src/listen/rtmp/handshake.ts';
import type { RtmpMessage } from '../../ingest-relay/src/listen/rtmp/messages.ts';
import { readFlvTags } from '../relay/demux/flv-file.ts';

export const fixturesDir = new URL('../fixtures/fuzz/', import.meta.url).pathname;
const mediaDir = new URL('../fixtures/media/', import.meta.url).pathname;

/** The SRT capture's passphrase and the stream key both captures publish to. */
export const FUZZ_PASSPHRASE = 'fuzz-passphrase-1';
export const FUZZ_STREAM_KEY = 'fuzzkey';

const cache = new Map<string, Uint8Array>();
function load(path: string): Uint8Array {
  let bytes = cache.get(path);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(path));
    cache.set(path, bytes);
  }
  return bytes;
}

export const capture = (name: string): Uint8Array => load(`${fixturesDir}${name}`);
export const mediaFixture = (name: string): Uint8Array => load(`${mediaDir}${name}`);

/** `count` windows of `length` bytes, evenly spread over `bytes` (the first starts at 0). */
export function windows(bytes: Uint8Array, length: number, count: number, align = 1): Uint8Array[] {
  const out: Uint8Array[] = [];
  const span = Math.max(0, bytes.byteLength - length);
  for (let i = 0; i < count; i++) {
    const at = Math.floor((span * i) / Math.max(1, count - 1) / align) * align;
    out.push(bytes.subarray(at, at + length));
  }
  return out;
}

/** What ffmpeg's RTMP client sent after C0+C1+C2: the chunk stream. */
export function rtmpChunkBytes(): Uint8Array {
  return capture('rtmp-publish.bin').subarray(1 + 2 * HANDSHAKE_SIZE);
}

/** The RTMP messages of the capture, reassembled by the relay's own reader. */
export function rtmpMessages(): RtmpMessage[] {
  return new ChunkReader().push(rtmpChunkBytes()).flatMap((e) => (e.kind === 'message' ? [e.message] : []));
}

/** FLV tags of clip.flv as framed bytes: 11-byte tag header, body, 4-byte back pointer (FLV v10.1 E.3). */
export function flvTagBytes(): Uint8Array {
  const file = capture('clip.flv');
  const headerSize = new DataView(file.buffer, file.byteOffset).getUint32(5);
  return file.subarray(headerSize + 4);
}

export const flvTags = () => readFlvTags(capture('clip.flv'));

/** Runs of `count` whole framed tags, one starting at every tag of clip.flv. */
export function flvTagRuns(count: number): Uint8Array[] {
  const bytes = flvTagBytes();
  const starts: number[] = [];
  for (let at = 0; at + 11 <= bytes.byteLength; ) {
    starts.push(at);
    at += 11 + ((((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) + 4);
  }
  starts.push(bytes.byteLength);
  return starts.slice(0, -1).map((s, i) => bytes.subarray(s, starts[Math.min(i + count, starts.length - 1)]));
}

export interface SrtRecord {
  /** 0: caller to listener, 1: listener to caller. */
  direction: number;
  datagram: Uint8Array;
}

export function srtRecords(): SrtRecord[] {
  const bytes = capture('srt-session.bin');
  const out: SrtRecord[] = [];
  for (let at = 0; at + 3 <= bytes.byteLength; ) {
    const length = ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0);
    out.push({ direction: bytes[at] ?? 0, datagram: bytes.subarray(at + 3, at + 3 + length) });
    at += 3 + length;
  }
  return out;
}

/** Datagrams framed as the SRT connection target reads them: [length u16 BE][datagram], back to back. */
export function frameDatagrams(datagrams: readonly Uint8Array[]): Uint8Array {
  const total = datagrams.reduce((n, d) => n + 2 + d.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const d of datagrams) {
    out[at] = d.byteLength >> 8;
    out[at + 1] = d.byteLength & 0xff;
    out.set(d, at + 2);
    at += 2 + d.byteLength;
  }
  return out;
}

export function* unframeDatagrams(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at + 2 <= bytes.byteLength; ) {
    const length = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
    yield bytes.subarray(at + 2, at + 2 + length);
    at += 2 + length;
  }
}

/** The 188-byte packets of clip.ts. */
export function tsPackets(): Uint8Array[] {
  return windows(capture('clip.ts'), 188, capture('clip.ts').byteLength / 188, 188);
}

/** Whole PES packets of clip.ts per PID (payloads of the packets from one unit start to the next). */
export function tsPes(): Map<number, Uint8Array[]> {
  const open = new Map<number, Uint8Array[]>();
  const done = new Map<number, Uint8Array[]>();
  const close = (pid: number) => {
    const parts = open.get(pid);
    if (parts?.length) done.set(pid, [...(done.get(pid) ?? []), concatBytes(parts)]);
  };
  for (const bytes of tsPackets()) {
    const p = parseTsPacket(bytes);
    if (!p?.hasPayload || p.pid === 0 || p.pid >= 0x1000) continue;
    if (p.payloadUnitStart) {
      close(p.pid);
      open.set(p.pid, []);
    }
    open.get(p.pid)?.push(p.payload);
  }
  for (const pid of open.keys()) close(pid);
  return done;
}

/** PES payloads (after the PES header) of clip.ts that start with `first` (0x00 Annex B, 0xff ADTS). */
export function tsElementary(first: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const list of tsPes().values()) {
    for (const pes of list) {
      const header = parsePesHeader(pes);
      const payload = header ? pes.subarray(header.payloadOffset) : undefined;
      if (payload && payload[0] === first) out.push(payload);
    }
  }
  return out;
}

/** Runs of `count` top-level ISO BMFF boxes (a moof+mdat pair is one CMAF part). */
export function topLevelBoxes(bytes: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength && view.getUint32(at) >= 8; at += view.getUint32(at)) {
    starts.push(at);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i + count <= starts.length; i += count) {
    out.push(bytes.subarray(starts[i], starts[i + count] ?? bytes.byteLength));
  }
  return out;
}

/** ISO BMFF boxes of `type` nested `depth` deep, each an 8-byte header around the next. */
export function nestedBoxes(type: string, depth: number): Uint8Array {
  const out = new Uint8Array(depth * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < depth; i++) {
    view.setUint32(i * 8, (depth - i) * 8);
    for (let c = 0; c < 4; c++) out[i * 8 + 4 + c] = type.charCodeAt(c);
  }
  return out;
}
