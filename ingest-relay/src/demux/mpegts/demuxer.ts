/**
 * A push()-fed MPEG-TS demuxer (ISO/IEC 13818-1): 188-byte packets in any chunking, resync on a lost sync
 * byte, PAT -> PMT -> PES reassembly, continuity checks, then the elementary-stream table turns each PES into
 * AccessUnits and config events. Bad bytes are counted, never thrown.
 *
 * One track per kind: `AccessUnit` carries no PID, so two audio PIDs (a broadcast encoder's second language,
 * common over SRT) would interleave into one track. The first PID of each kind in the PMT that the relay can
 * carry is taken; every other PID of that kind is ignored, counted and announced once (`ignored-track`), which
 * the session puts in its health report (`ignoredAudioPids`). A later PMT version never moves the choice.
 */
import type { DemuxEvent, TrackKind } from '../../media/access-unit.ts';
import { Unwrapper, wrappedDelta } from '../timestamps.ts';
import { type ElementaryStream, STREAM_KINDS, STREAM_TYPES } from './elementary.ts';
import {
  NULL_PID,
  PAT_PID,
  type PmtStream,
  parsePat,
  parsePesHeader,
  parsePmt,
  parseSection,
  parseTsPacket,
  SYNC_BYTE,
  sectionLength,
  TS_PACKET_BYTES,
  type TsPacket,
} from './packet.ts';

interface PesTrack {
  stream: ElementaryStream;
  chunks: Uint8Array[];
  size: number;
  receivedAt: number;
  dts: Unwrapper;
}

/** Largest PES we reassemble (a 4K intra frame is well below this). */
const MAX_PES_BYTES = 8 * 1024 * 1024;

export interface TsDemuxStats {
  packets: number;
  resyncs: number;
  continuityErrors: number;
  /** Counted reasons: ignored stream types and PIDs, malformed PES, codec problems. */
  reasons: Record<string, number>;
  /** Audio PIDs of the PMT left out: after the first one the relay carries, or of a codec it does not carry. */
  ignoredAudioPids: number[];
}

export class TsDemuxer {
  #pending: Uint8Array = new Uint8Array(0);
  readonly #pmtPids = new Set<number>();
  readonly #tracks = new Map<number, PesTrack>();
  readonly #sections = new Map<number, Uint8Array>();
  readonly #cc = new Map<number, number>();
  /** The PID each track kind is taken from (the first the relay can carry), and the PIDs left out. */
  readonly #chosen = new Map<TrackKind, number>();
  readonly #ignored = new Set<number>();
  readonly #stats: TsDemuxStats = {
    packets: 0,
    resyncs: 0,
    continuityErrors: 0,
    reasons: {},
    ignoredAudioPids: [],
  };
  readonly #count = (reason: string) => {
    this.#stats.reasons[reason] = (this.#stats.reasons[reason] ?? 0) + 1;
  };

  /** `receivedAt`: wall clock (epoch ms) of these bytes' arrival, stamped on the units they complete. */
  push(bytes: Uint8Array, receivedAt: number): DemuxEvent[] {
    const out: DemuxEvent[] = [];
    const data = this.#pending.byteLength ? concat(this.#pending, bytes) : bytes;
    let at = 0;
    while (data.byteLength - at >= TS_PACKET_BYTES) {
      if (data[at] !== SYNC_BYTE || !this.#syncedAt(data, at)) {
        const next = this.#findSync(data, at + 1);
        this.#stats.resyncs++;
        at = next;
        continue;
      }
      this.#onPacket(data.subarray(at, at + TS_PACKET_BYTES), receivedAt, out);
      at += TS_PACKET_BYTES;
    }
    this.#pending = data.slice(at);
    return out;
  }

  /** Emits the PES still being assembled on each track (end of stream). */
  flush(): DemuxEvent[] {
    const out: DemuxEvent[] = [];
    for (const track of this.#tracks.values()) this.#completePes(track, out);
    return out;
  }

  stats(): TsDemuxStats {
    return {
      ...this.#stats,
      reasons: { ...this.#stats.reasons },
      ignoredAudioPids: [...this.#stats.ignoredAudioPids],
    };
  }

  /** A sync byte counts if the next packet (when already here) also starts with one. */
  #syncedAt(data: Uint8Array, at: number): boolean {
    const next = at + TS_PACKET_BYTES;
    return next >= data.byteLength || data[next] === SYNC_BYTE;
  }

  #findSync(data: Uint8Array, from: number): number {
    for (let i = from; i < data.byteLength; i++) {
      if (
        data[i] === SYNC_BYTE &&
        (i + TS_PACKET_BYTES >= data.byteLength || data[i + TS_PACKET_BYTES] === SYNC_BYTE)
      ) {
        return i;
      }
    }
    return data.byteLength;
  }

  #onPacket(bytes: Uint8Array, receivedAt: number, out: DemuxEvent[]): void {
    this.#stats.packets++;
    const p = parseTsPacket(bytes);
    if (!p) {
      this.#count('bad-adaptation-field');
      return;
    }
    if (p.transportError) {
      this.#count('transport-error');
      return;
    }
    if (p.pid === NULL_PID) return;
    const ccOk = this.#checkContinuity(p);
    if (p.pid === PAT_PID || this.#pmtPids.has(p.pid)) {
      this.#onPsi(p, out);
      return;
    }
    const track = this.#tracks.get(p.pid);
    if (!track || !p.hasPayload) return;
    if (!ccOk) {
      // A lost packet corrupts the PES being assembled: drop it, resume at the next unit start.
      track.chunks = [];
      track.size = 0;
    }
    if (p.payloadUnitStart) {
      this.#completePes(track, out);
      track.receivedAt = receivedAt;
    } else if (track.size === 0) return;
    if (track.size + p.payload.byteLength > MAX_PES_BYTES) {
      this.#count('pes-too-large');
      track.chunks = [];
      track.size = 0;
      return;
    }
    track.chunks.push(p.payload);
    track.size += p.payload.byteLength;
    // A bounded PES (PES_packet_length != 0, usual for audio) is complete without waiting for the next start.
    const first = track.chunks[0];
    const declared = first && first.byteLength >= 6 ? ((first[4] ?? 0) << 8) | (first[5] ?? 0) : 0;
    if (declared > 0 && track.size >= 6 + declared) this.#completePes(track, out);
  }

  /** §2.4.3.3: the CC increments per packet with payload; a repeat is allowed once; a discontinuity resets. */
  #checkContinuity(p: TsPacket): boolean {
    const last = this.#cc.get(p.pid);
    if (!p.hasPayload) return true;
    this.#cc.set(p.pid, p.continuityCounter);
    if (last === undefined || p.discontinuity || p.continuityCounter === last) return true;
    if (p.continuityCounter === ((last + 1) & 0x0f)) return true;
    this.#stats.continuityErrors++;
    return false;
  }

  #onPsi(p: TsPacket, out: DemuxEvent[]): void {
    if (!p.hasPayload) return;
    let section: Uint8Array;
    if (p.payloadUnitStart) {
      const pointer = p.payload[0] ?? 0;
      section = p.payload.subarray(1 + pointer);
    } else {
      const partial = this.#sections.get(p.pid);
      if (!partial) return;
      section = concat(partial, p.payload);
    }
    const total = sectionLength(section);
    if (total === undefined || section.byteLength < total) {
      if (section.byteLength < 4096) this.#sections.set(p.pid, section.slice());
      return;
    }
    this.#sections.delete(p.pid);
    const parsed = parseSection(section);
    if (!parsed) {
      this.#count('bad-psi-section');
      return;
    }
    if (p.pid === PAT_PID && parsed.tableId === 0x00) {
      for (const pid of parsePat(parsed.body)) this.#pmtPids.add(pid);
    } else if (parsed.tableId === 0x02) {
      for (const s of parsePmt(parsed.body)) this.#pmtStream(s, out);
    }
  }

  /** One elementary stream of a PMT (they repeat every ~100 ms): a track, once, or left out. */
  #pmtStream(s: PmtStream, out: DemuxEvent[]): void {
    if (this.#tracks.has(s.pid) || this.#ignored.has(s.pid)) return;
    const make = STREAM_TYPES[s.streamType];
    const kind = STREAM_KINDS[s.streamType];
    if (make && kind && !this.#chosen.has(kind)) {
      this.#chosen.set(kind, s.pid);
      this.#tracks.set(s.pid, { stream: make(), chunks: [], size: 0, receivedAt: 0, dts: new Unwrapper(33) });
      return;
    }
    if (!make) this.#count(`ignored-stream-type-0x${s.streamType.toString(16)}`);
    if (!kind) return;
    this.#ignored.add(s.pid);
    this.#count(`ignored-${kind}-pid`);
    if (kind === 'audio') this.#stats.ignoredAudioPids.push(s.pid);
    out.push({ type: 'ignored-track', kind, pid: s.pid, streamType: s.streamType });
  }

  #completePes(track: PesTrack, out: DemuxEvent[]): void {
    if (track.size === 0) return;
    const pes =
      track.chunks.length === 1
        ? (track.chunks[0] ?? new Uint8Array(0))
        : concatAll(track.chunks, track.size);
    track.chunks = [];
    track.size = 0;
    const header = parsePesHeader(pes);
    if (!header) {
      this.#count('bad-pes-header');
      return;
    }
    if (header.pts === undefined) {
      this.#count('pes-without-pts');
      return;
    }
    const rawDts = header.dts ?? header.pts;
    const dts = track.dts.unwrap(rawDts);
    // pts >= dts by construction: the composition offset is the 33-bit wrapped difference.
    const pts = dts + Math.max(0, wrappedDelta(header.pts, rawDts, 33));
    track.stream.onPes(
      { pts, dts, payload: pes.subarray(header.payloadOffset), receivedAt: track.receivedAt },
      out,
      this.#count,
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function concatAll(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
