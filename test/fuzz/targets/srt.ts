/**
 * SRT targets (draft-sharabayko-srt-01): datagrams (data and control packets with their CIFs), the handshake
 * and its extensions as the listener reads them, key material, and one accepted connection fed a sequence of
 * datagrams (receiver, decryption, key refresh, then the TS demuxer behind it). Parsers here return
 * `{ ok: false }`; none may throw.
 */
import fc from 'fast-check';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import { SrtConnection } from '../../../ingest-relay/src/listen/srt/connection.ts';
import { aesKeyUnwrap, deriveKek } from '../../../ingest-relay/src/listen/srt/crypto.ts';
import {
  acceptConclusion,
  answerInduction,
  readConclusion,
  rejection,
  synCookie,
} from '../../../ingest-relay/src/listen/srt/handshake.ts';
import {
  decodeStreamIdWire,
  ExtType,
  encodeStreamIdWire,
  type HandshakeCif,
  parseHandshake,
  parseHsExtension,
  serializeHandshake,
} from '../../../ingest-relay/src/listen/srt/handshake-wire.ts';
import {
  type KeyMaterial,
  parseKeyMaterial,
  unwrapKeys,
} from '../../../ingest-relay/src/listen/srt/key-material.ts';
import {
  ControlType,
  decodeAck,
  decodeLossList,
  parsePacket,
  type SrtPacket,
  serializePacket,
} from '../../../ingest-relay/src/listen/srt/packet.ts';
import { parseStreamId } from '../../../ingest-relay/src/listen/srt/stream-id.ts';
import { FUZZ_PASSPHRASE, frameDatagrams, srtRecords, unframeDatagrams } from '../seeds.ts';
import { type FuzzTarget, invariant } from '../target.ts';

const PEER = { address: '127.0.0.1', port: 40000 };
const PEER_KEY = `${PEER.address}:${PEER.port}`;
const SECRET = new Uint8Array(32).fill(7);
const NOW_MS = 1_700_000_000_000;

function packets(): SrtPacket[] {
  return srtRecords().flatMap((r) => {
    const p = parsePacket(r.datagram);
    return p.ok ? [p.value] : [];
  });
}

const handshakes = () =>
  packets().flatMap((p) => (p.kind === 'control' && p.type === ControlType.handshake ? [p.cif] : []));

function extensions(type: number): Uint8Array[] {
  return handshakes().flatMap((cif) => {
    const hs = parseHandshake(cif);
    return hs.ok ? hs.value.extensions.filter((e) => e.type === type).map((e) => e.content) : [];
  });
}

/** The caller's Key Material (KMREQ of its conclusion), as libsrt wrapped it with FUZZ_PASSPHRASE. */
function callerKeyMaterial(): KeyMaterial {
  const km = parseKeyMaterial(extensions(ExtType.kmreq)[0] ?? new Uint8Array(0));
  if (!km.ok) throw new Error(`the SRT capture has no usable KMREQ: ${km.error}`);
  return km.value;
}

/** KEKs per key length from the capture's salt, derived once (PBKDF2 is deliberately slow). */
const keks = new Map<number, Uint8Array>();
function kekFor(keyBytes: number): Uint8Array {
  let kek = keks.get(keyBytes);
  if (kek === undefined) {
    kek = deriveKek(FUZZ_PASSPHRASE, callerKeyMaterial().salt, keyBytes);
    keks.set(keyBytes, kek);
  }
  return kek;
}

/** Every parser a datagram's contents reach in the listener, by control type and extension type. */
function readCif(p: SrtPacket): void {
  if (p.kind === 'data') return;
  if (p.type === ControlType.ack) decodeAck(p.cif);
  else if (p.type === ControlType.nak) decodeLossList(p.cif);
  else if (p.type === ControlType.userDefined) parseKeyMaterial(p.cif);
  else if (p.type === ControlType.handshake) {
    const hs = parseHandshake(p.cif);
    if (hs.ok) for (const ext of hs.value.extensions) readExtension(ext.type, ext.content);
  }
}

function readExtension(type: number, content: Uint8Array): void {
  if (type === ExtType.hsreq || type === ExtType.hsrsp) parseHsExtension(content);
  else if (type === ExtType.sid) parseStreamId(decodeStreamIdWire(content));
  else if (type === ExtType.kmreq || type === ExtType.kmrsp) parseKeyMaterial(content);
}

const handshakeCif: fc.Arbitrary<Uint8Array> = fc
  .record({
    version: fc.constantFrom(4, 5, 0, 0xffffffff),
    encryptionField: fc.nat(0xffff),
    extensionField: fc.nat(0xffff),
    initialSeq: fc.nat(0x7fffffff),
    mtu: fc.nat(),
    flowWindow: fc.nat(),
    handshakeType: fc.constantFrom(0, 1, 0xffffffff, 0xfffffffe, 0xfffffffd, 1004),
    socketId: fc.nat(),
    cookie: fc.nat(),
    peerIp: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()),
    extensions: fc.array(
      fc.oneof(
        fc.record({ type: fc.nat(9), content: fc.uint8Array({ maxLength: 64 }) }),
        fc.record({
          type: fc.constant(ExtType.sid),
          content: fc.string({ maxLength: 600 }).map((s) => encodeStreamIdWire(`#!::r=${s},m=publish`)),
        }),
      ),
      { maxLength: 5 },
    ),
  })
  .map((h) => serializeHandshake(h as HandshakeCif));

export const srtTargets: FuzzTarget[] = [
  {
    name: 'srt-packet',
    entry:
      'parsePacket, decodeAck, decodeLossList, parseHandshake + extensions, parseKeyMaterial (listen/srt/)',
    seeds: () => srtRecords().map((r) => r.datagram),
    maxRandomLength: 1600,
    feed: ({ bytes }) => {
      const p = parsePacket(bytes);
      if (!p.ok) return;
      // Every bit of the 16-byte header is a field: writing the packet back gives the same bytes.
      invariant(Buffer.from(serializePacket(p.value)).equals(Buffer.from(bytes)), 'packet round trip');
      readCif(p.value);
    },
  },
  {
    name: 'srt-handshake',
    entry: 'parseHandshake, answerInduction, readConclusion, acceptConclusion (listen/srt/handshake*.ts)',
    seeds: () => handshakes(),
    generate: handshakeCif,
    feed: ({ bytes }) => {
      const p = parseHandshake(bytes);
      if (!p.ok) return;
      const hs = p.value;
      answerInduction(hs, PEER, 1234, SECRET, NOW_MS);
      rejection(hs, 1403, PEER.address);
      // As the listener sees it: first with the cookie as sent, then as if the cookie were ours.
      readConclusion(hs, PEER_KEY, SECRET, NOW_MS);
      const read = readConclusion(
        { ...hs, cookie: synCookie(SECRET, PEER_KEY, NOW_MS) },
        PEER_KEY,
        SECRET,
        NOW_MS,
      );
      if (!read.ok) return;
      const opts = { passphrase: null, latencyMs: 120, socketId: 99, peerAddress: PEER.address };
      const accepted = acceptConclusion(read.request, opts);
      if (accepted.ok) invariant(parseHandshake(serializeHandshake(accepted.response)).ok, 'our answer');
    },
  },
  {
    name: 'srt-key-material',
    entry: 'parseKeyMaterial, aesKeyUnwrap (listen/srt/key-material.ts, crypto.ts)',
    seeds: () => [...extensions(ExtType.kmreq), ...extensions(ExtType.kmrsp)],
    feed: ({ bytes }) => {
      const km = parseKeyMaterial(bytes);
      if (!km.ok) return;
      invariant(
        km.value.wrapped.byteLength === 8 + (km.value.keyFlags === 3 ? 2 : 1) * km.value.keyBytes,
        'wrap',
      );
      const keys = aesKeyUnwrap(kekFor(km.value.keyBytes), km.value.wrapped);
      if (keys) invariant(keys.byteLength === km.value.wrapped.byteLength - 8, 'unwrapped key length');
    },
  },
  {
    name: 'srt-connection',
    entry: 'SrtConnection.onPacket / .tick (listen/srt/connection.ts, receiver.ts) + TsDemuxer behind it',
    seeds: () => {
      const sent = srtRecords()
        .filter((r) => r.direction === 0)
        .map((r) => r.datagram)
        .slice(2); // after the induction and the conclusion
      return [0, 6, 12, 18, 24].map((at) => frameDatagrams(sent.slice(at, at + 12)));
    },
    maxRandomLength: 2048,
    feed: ({ bytes }) => {
      const km = callerKeyMaterial();
      const demux = new TsDemuxer();
      let now = 0;
      const conn = new SrtConnection({
        socketId: 77,
        peerSocketId: 88,
        peer: PEER,
        streamId: '#!::r=fuzzkey',
        initialSeq: conclusion().initialSeq,
        flowWindow: 8192,
        latencyMs: 120,
        keys: { ...sessionKeys(km) },
        passphrase: FUZZ_PASSPHRASE,
        conclusionResponse: new Uint8Array(64),
        startUs: 0,
        peerStartUs: 0,
        sendDatagram: () => {},
        onPayload: (payload) => demux.push(payload, 0),
        onClose: () => {},
      });
      for (const datagram of unframeDatagrams(bytes)) {
        now += 2_000;
        const p = parsePacket(datagram);
        if (p.ok) conn.onPacket(p.value, now);
        conn.tick(now);
        const s = conn.stats();
        invariant(s.buffered <= 8192, `${s.buffered} packets buffered`);
        // Loss-list ranges are disjoint within the window: its memory is bounded by it, not by sequence jumps.
        invariant(s.lossRanges <= 8192, `${s.lossRanges} loss ranges`);
        // Every packet accepted is buffered until delivered (in order, or drained at shutdown).
        invariant(
          s.delivered + s.buffered === s.received,
          `${s.received} received, ${s.delivered} delivered`,
        );
      }
      conn.tick(now + 1_000_000);
      conn.close('fuzz input done', true, now + 1_000_000);
    },
  },
];

/** Keys unwrapped from the capture's KMREQ once: the connection decrypts the captured payloads. */
let cachedKeys: ReturnType<typeof unwrapKeys>;
function sessionKeys(km: KeyMaterial) {
  cachedKeys ??= unwrapKeys(km, FUZZ_PASSPHRASE);
  if (cachedKeys === undefined) throw new Error('FUZZ_PASSPHRASE does not unwrap the captured keys');
  return cachedKeys;
}

/** The caller's conclusion in the capture: the receiver starts at its initial sequence number. */
let cachedConclusion: HandshakeCif | undefined;
function conclusion(): HandshakeCif {
  for (const cif of cachedConclusion ? [] : handshakes()) {
    const hs = parseHandshake(cif);
    if (hs.ok && hs.value.handshakeType === 0xffffffff) {
      cachedConclusion = hs.value;
      break;
    }
  }
  if (cachedConclusion === undefined) throw new Error('the SRT capture has no conclusion');
  return cachedConclusion;
}
