/**
 * Media targets: FLV tag bodies, MPEG-TS (packets, PSI, PES, the push()-fed demuxer), the H.264 and AAC
 * readers, and the CMAF box inspector. None of them may throw: bad bytes come back as `{ ok: false }`,
 * `undefined`, an error event or a count.
 */
import fc from 'fast-check';
import { dumpBoxes, parseBoxes } from '../../../ingest-relay/src/cmaf/inspect.ts';
import {
  aacCodecString,
  ascFromAdts,
  parseAdtsFrames,
  parseAudioSpecificConfig,
} from '../../../ingest-relay/src/codec/aac.ts';
import { concatBytes } from '../../../ingest-relay/src/codec/bytes.ts';
import {
  annexBToAvcc,
  avcCodecString,
  buildAvcC,
  parseAvcC,
  parseSps,
  removeEmulationPrevention,
  splitAnnexB,
  splitAvcc,
} from '../../../ingest-relay/src/codec/h264.ts';
import { FlvDemuxer } from '../../../ingest-relay/src/demux/flv.ts';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import {
  PAT_PID,
  parsePat,
  parsePesHeader,
  parsePmt,
  parseSection,
  parseTsPacket,
  TS_PACKET_BYTES,
} from '../../../ingest-relay/src/demux/mpegts/packet.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { pieces } from '../mutate.ts';
import {
  flvTagRuns,
  flvTags,
  mediaFixture,
  nestedBoxes,
  topLevelBoxes,
  tsElementary,
  tsPackets,
} from '../seeds.ts';
import { type FuzzTarget, invariant } from '../target.ts';

/** What every demuxer promises about its events (media/access-unit.ts). */
function checkEvents(events: readonly DemuxEvent[]): void {
  let fatal = false;
  for (const e of events) {
    invariant(!fatal, 'events after a fatal error');
    if (e.type === 'error') fatal = e.fatal;
    if (e.type !== 'unit') continue;
    const { dts, pts, data } = e.unit;
    invariant(Number.isSafeInteger(dts) && Number.isSafeInteger(pts), `dts ${dts} pts ${pts}`);
    invariant(pts >= dts, `pts ${pts} < dts ${dts}`);
    invariant(data.byteLength > 0, 'empty access unit');
  }
}

const videoConfig = () =>
  flvTags()
    .find((t) => t.type === 9 && t.body[1] === 0)!
    .body.subarray(5);
const audioConfig = () =>
  flvTags()
    .find((t) => t.type === 8 && t.body[1] === 0)!
    .body.subarray(2);

/** Deep box trees: a fuzzer finds them slowly by mutation alone. */
const deepBoxes = fc
  .tuple(fc.constantFrom('moov', 'trak', 'moof', 'traf', 'stbl'), fc.integer({ min: 1, max: 2_000 }))
  .map(([type, depth]) => nestedBoxes(type, depth));

export const mediaTargets: FuzzTarget[] = [
  {
    name: 'flv-tags',
    entry: 'FlvDemuxer.video / .audio (demux/flv.ts), tags framed as in an FLV file',
    seeds: () => [...flvTagRuns(3).slice(0, 8), ...flvTagRuns(12).slice(0, 2)],
    feed: ({ bytes }) => {
      const demux = new FlvDemuxer({ maxFramesBeforeConfig: 4 });
      const events: DemuxEvent[] = [];
      // Tag header (FLV v10.1 E.4.1): type, 24-bit size, 24+8-bit timestamp, stream id; body; back pointer.
      for (let at = 0; at + 11 <= bytes.byteLength; ) {
        const size = ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
        const ts = (((bytes[at + 7] ?? 0) << 24) | (bytes[at + 4]! << 16) | (bytes[at + 5]! << 8)) >>> 0;
        const body = bytes.subarray(at + 11, at + 11 + size);
        const type = (bytes[at] ?? 0) & 0x1f;
        if (type === 9) events.push(...demux.video(body, ts, 0));
        else if (type === 8) events.push(...demux.audio(body, ts, 0));
        at += 11 + size + 4;
      }
      checkEvents(events);
    },
  },
  {
    name: 'mpegts-demux',
    entry: 'TsDemuxer.push / .flush (demux/mpegts/demuxer.ts, elementary.ts)',
    // 24 packets from each PAT on (ffmpeg repeats PAT and PMT): a program, then its PES packets.
    seeds: () => {
      const packets = tsPackets();
      const pats = packets.flatMap((p, i) => (parseTsPacket(p)?.pid === PAT_PID ? [i] : []));
      return pats.map((i) => concatBytes(packets.slice(i, i + 24)));
    },
    maxRandomLength: 1024,
    feed: ({ bytes, cuts }) => {
      const demux = new TsDemuxer();
      const events: DemuxEvent[] = [];
      for (const piece of pieces(bytes, cuts)) events.push(...demux.push(piece, 0));
      events.push(...demux.flush());
      checkEvents(events);
      const stats = demux.stats();
      invariant(stats.packets <= bytes.byteLength / TS_PACKET_BYTES, `${stats.packets} packets counted`);
    },
  },
  {
    name: 'mpegts-packet',
    entry: 'parseTsPacket, parseSection, parsePat, parsePmt, parsePesHeader (demux/mpegts/packet.ts)',
    seeds: () => tsPackets(),
    generate: fc.uint8Array({ minLength: TS_PACKET_BYTES, maxLength: TS_PACKET_BYTES }).map((p) => {
      p[0] = 0x47;
      return p;
    }),
    feed: ({ bytes }) => {
      const packet = parseTsPacket(bytes.subarray(0, TS_PACKET_BYTES));
      const payloads = [bytes];
      if (packet) {
        invariant(packet.payload.byteLength <= TS_PACKET_BYTES - 4, 'payload larger than a packet');
        payloads.push(packet.payload, packet.payload.subarray(1 + (packet.payload[0] ?? 0)));
      }
      for (const payload of payloads) {
        const section = parseSection(payload);
        if (section) {
          parsePat(section.body);
          parsePmt(section.body);
        }
        const pes = parsePesHeader(payload);
        if (pes) invariant(pes.payloadOffset <= payload.byteLength, 'PES payload offset past the end');
      }
    },
  },
  {
    name: 'h264-sps',
    entry: 'parseSps, buildAvcC, avcCodecString (codec/h264.ts)',
    seeds: () => {
      const avc = parseAvcC(videoConfig());
      return avc.ok ? avc.value.sps : [];
    },
    maxRandomLength: 64,
    feed: ({ bytes }) => {
      const sps = parseSps(bytes);
      if (!sps.ok) return;
      const { width, height } = sps.value;
      invariant(width > 0 && height > 0 && width <= 16384 && height <= 16384, `size ${width}x${height}`);
      const avcC = buildAvcC(bytes, [Uint8Array.of(0x68, 0xee, 0x3c, 0x80)]);
      invariant(parseAvcC(avcC).ok, 'the avcC built from a parsed SPS does not parse');
      avcCodecString(avcC);
    },
  },
  {
    name: 'h264-avcc',
    entry: 'parseAvcC, splitAvcc, splitAnnexB, annexBToAvcc, removeEmulationPrevention (codec/h264.ts)',
    seeds: () => [
      videoConfig(),
      ...flvTags()
        .filter((t) => t.type === 9 && t.body[1] === 1)
        .slice(0, 6)
        .map((t) => t.body.subarray(5)),
      ...tsElementary(0x00).slice(0, 6),
    ],
    feed: ({ bytes }) => {
      parseAvcC(bytes);
      for (const size of [1, 2, 4]) {
        const nals = splitAvcc(bytes, size);
        if (nals.ok) annexBToAvcc(nals.value);
      }
      const nals = splitAnnexB(bytes);
      const avcc = annexBToAvcc(nals);
      invariant(splitAvcc(avcc, 4).ok, 'annexBToAvcc output does not split back');
      invariant(removeEmulationPrevention(bytes).byteLength <= bytes.byteLength, 'RBSP grew');
    },
  },
  {
    name: 'aac-asc',
    entry: 'parseAudioSpecificConfig, aacCodecString (codec/aac.ts)',
    seeds: () => [audioConfig()],
    maxRandomLength: 16,
    feed: ({ bytes }) => {
      const asc = parseAudioSpecificConfig(bytes);
      aacCodecString(bytes);
      if (asc.ok) invariant(asc.value.sampleRate > 0 && asc.value.channelCount > 0, 'rate or channels');
    },
  },
  {
    name: 'aac-adts',
    entry: 'parseAdtsFrames, ascFromAdts (codec/aac.ts)',
    seeds: () => tsElementary(0xff).slice(0, 8),
    feed: ({ bytes }) => {
      const { frames, rest } = parseAdtsFrames(bytes);
      let total = rest.byteLength;
      for (const f of frames) {
        total += f.header.frameLength;
        invariant(parseAudioSpecificConfig(ascFromAdts(f.header)).ok, 'ASC from an ADTS header');
      }
      invariant(total <= bytes.byteLength, 'frames overlap or run past the input');
    },
  },
  {
    name: 'cmaf-inspect',
    entry: 'parseBoxes, dumpBoxes (cmaf/inspect.ts)',
    seeds: () => [mediaFixture('init.mp4'), ...topLevelBoxes(mediaFixture('parts.mp4'), 2).slice(0, 4)],
    generate: deepBoxes,
    feed: ({ bytes }) => {
      parseBoxes(bytes);
      dumpBoxes(bytes);
    },
  },
];
