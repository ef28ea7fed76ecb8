/**
 * The listener side of the HSv5 handshake (draft-sharabayko-srt-01 §4.3.1), as pure functions of the
 * packet, the peer address and the time:
 *
 *   caller --INDUCTION (v4)-->  listener: answerInduction() -> v5, SRT magic, SYN cookie (no state kept)
 *   caller --CONCLUSION (v5, cookie, HSREQ, SID, KMREQ?)--> readConclusion() checks cookie and extensions,
 *   the server asks the hub for the passphrase, then acceptConclusion() -> CONCLUSION (HSRSP, KMRSP) or a
 *   rejection (handshake type = 1000 + reason, libsrt handshake.h URQFailure).
 */
import { createHmac } from 'node:crypto';
import {
  decodeStreamIdWire,
  ExtFlag,
  ExtType,
  type HandshakeCif,
  type HandshakeExtension,
  HandshakeType,
  type HsExtension,
  parseHsExtension,
  SRT_MAGIC,
  SrtFlag,
  serializeHsExtension,
} from './handshake-wire.ts';
import { type KeyMaterial, parseKeyMaterial, type StreamKeys, unwrapKeys } from './key-material.ts';
import { parseStreamId } from './stream-id.ts';

/** Internal rejection reasons (SRT_REJ_*, libsrt srt.h). */
export const Reject = {
  unknown: 0,
  system: 1,
  peer: 2,
  resource: 3,
  rogue: 4,
  version: 8,
  badSecret: 10,
  unsecure: 11,
} as const;

/** On the wire a rejection is handshake type 1000 + reason (libsrt handshake.h URQ_FAILURE_TYPES). */
export const URQ_FAILURE_BASE = 1000;

/** The SRT version we announce in HSRSP: 1.5.1. */
const SRT_VERSION = 0x010501;
/** Cookies stay valid for the bucket they were made in and the one before: 64 to 128 seconds. */
const COOKIE_BUCKET_MS = 64_000;

/** SYN cookie (draft §4.3.1.1): an HMAC of the peer address and a time bucket. Keeps no per-peer state. */
export function synCookie(secret: Uint8Array, peer: string, nowMs: number, bucketOffset = 0): number {
  const bucket = Math.floor(nowMs / COOKIE_BUCKET_MS) + bucketOffset;
  const mac = createHmac('sha256', secret).update(`${peer}|${bucket}`).digest();
  return mac.readUInt32BE(0);
}

export function cookieValid(secret: Uint8Array, peer: string, nowMs: number, cookie: number): boolean {
  return cookie === synCookie(secret, peer, nowMs) || cookie === synCookie(secret, peer, nowMs, -1);
}

/** Peer IP field: IPv4 in the first word, as libsrt writes it (the address bytes as one little-endian word). */
export function peerIpWords(ip: string): [number, number, number, number] {
  const parts = ip.split('.').map((p) => Number.parseInt(p, 10));
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return [0, 0, 0, 0];
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return [((d << 24) | (c << 16) | (b << 8) | a) >>> 0, 0, 0, 0];
}

export function answerInduction(
  hs: HandshakeCif,
  peer: { address: string; port: number },
  listenerSocketId: number,
  secret: Uint8Array,
  nowMs: number,
): HandshakeCif {
  return {
    version: 5,
    encryptionField: 0,
    extensionField: SRT_MAGIC,
    initialSeq: hs.initialSeq,
    mtu: hs.mtu,
    flowWindow: hs.flowWindow,
    handshakeType: HandshakeType.induction,
    socketId: listenerSocketId,
    cookie: synCookie(secret, `${peer.address}:${peer.port}`, nowMs),
    peerIp: peerIpWords(peer.address),
    extensions: [],
  };
}

/** What a valid conclusion asks for, before the hub is consulted. */
export interface ConclusionRequest {
  callerSocketId: number;
  initialSeq: number;
  mtu: number;
  flowWindow: number;
  streamKey: string;
  hsreq: HsExtension;
  /** The KMREQ extension as received (echoed as KMRSP on success), and its parsed form. */
  kmreq: { raw: Uint8Array; km: KeyMaterial } | undefined;
}

export type Refusal = { ok: false; reject: number; reason: string };

export function readConclusion(
  hs: HandshakeCif,
  peer: string,
  secret: Uint8Array,
  nowMs: number,
): { ok: true; request: ConclusionRequest } | Refusal {
  if (!cookieValid(secret, peer, nowMs, hs.cookie)) return refuse(Reject.rogue, 'bad SYN cookie');
  if (hs.version !== 5) return refuse(Reject.version, `handshake version ${hs.version}, need 5`);
  let hsreq: HsExtension | undefined;
  let streamId: string | undefined;
  let kmreq: ConclusionRequest['kmreq'];
  for (const ext of hs.extensions) {
    if (ext.type === ExtType.hsreq) {
      const p = parseHsExtension(ext.content);
      if (!p.ok) return refuse(Reject.rogue, p.error);
      hsreq = p.value;
    } else if (ext.type === ExtType.sid) {
      streamId = decodeStreamIdWire(ext.content);
    } else if (ext.type === ExtType.kmreq) {
      const p = parseKeyMaterial(ext.content);
      if (!p.ok) return refuse(Reject.badSecret, `KMREQ: ${p.error}`);
      kmreq = { raw: ext.content, km: p.value };
    }
  }
  if (hsreq === undefined) return refuse(Reject.version, 'conclusion without HSREQ (SRT < 1.3)');
  const sid = parseStreamId(streamId ?? '');
  if (!sid.ok) return refuse(sid.reject, sid.reason);
  return {
    ok: true,
    request: {
      callerSocketId: hs.socketId,
      initialSeq: hs.initialSeq,
      mtu: hs.mtu,
      flowWindow: hs.flowWindow,
      streamKey: sid.streamKey,
      hsreq,
      kmreq,
    },
  };
}

export interface Accepted {
  ok: true;
  response: HandshakeCif;
  /** Negotiated receiver latency: the larger of ours and the sender's proposal (draft §4.4), ms. */
  latencyMs: number;
  keys: StreamKeys | undefined;
}

export function acceptConclusion(
  req: ConclusionRequest,
  opts: {
    passphrase: string | null;
    latencyMs: number;
    socketId: number;
    peerAddress: string;
    /** Our receive buffer, packets: the flow window we answer with is the smaller of this and the caller's. */
    maxFlowWindow?: number;
  },
): Accepted | Refusal {
  let keys: StreamKeys | undefined;
  if (opts.passphrase !== null) {
    if (req.kmreq === undefined)
      return refuse(Reject.unsecure, 'stream requires a passphrase; caller sent none');
    keys = unwrapKeys(req.kmreq.km, opts.passphrase);
    if (keys === undefined)
      return refuse(Reject.badSecret, 'wrong passphrase (key unwrap integrity check failed)');
  } else if (req.kmreq !== undefined) {
    return refuse(Reject.unsecure, 'caller encrypts but the stream has no passphrase');
  }
  const latencyMs = Math.max(opts.latencyMs, req.hsreq.senderDelayMs);
  // PERIODICNAK is deliberately not announced: we do send periodic NAKs, but a libsrt sender that believes
  // its peer reports losses periodically never retransmits on timeout, so a lost tail packet (no later
  // packet reveals the gap) would never be repaired. Without the flag it also retransmits unacknowledged
  // packets after its retransmission timeout.
  const flags =
    SrtFlag.tsbpdSnd | SrtFlag.tsbpdRcv | SrtFlag.tlpktDrop | SrtFlag.rexmitFlag | (keys ? SrtFlag.crypt : 0);
  const hsrsp = serializeHsExtension({
    srtVersion: SRT_VERSION,
    flags,
    receiverDelayMs: latencyMs,
    senderDelayMs: Math.max(opts.latencyMs, req.hsreq.receiverDelayMs),
  });
  const extensions: HandshakeExtension[] = [{ type: ExtType.hsrsp, content: hsrsp }];
  // KMRSP echoes the accepted key material (draft §3.2.1.2).
  if (req.kmreq) extensions.push({ type: ExtType.kmrsp, content: req.kmreq.raw });
  return {
    ok: true,
    latencyMs,
    keys,
    response: {
      version: 5,
      encryptionField: 0,
      extensionField: ExtFlag.hsreq | (req.kmreq ? ExtFlag.kmreq : 0),
      initialSeq: req.initialSeq,
      mtu: Math.min(req.mtu, 1500),
      flowWindow: Math.min(req.flowWindow, opts.maxFlowWindow ?? req.flowWindow),
      handshakeType: HandshakeType.conclusion,
      socketId: opts.socketId,
      cookie: 0,
      peerIp: peerIpWords(opts.peerAddress),
      extensions,
    },
  };
}

/** A conclusion answer that refuses the connection with `reject` (SRT_REJ_* or SRT_REJX_*). */
export function rejection(hs: HandshakeCif, reject: number, peerAddress: string): HandshakeCif {
  return {
    version: 5,
    encryptionField: 0,
    extensionField: 0,
    initialSeq: hs.initialSeq,
    mtu: hs.mtu,
    flowWindow: hs.flowWindow,
    handshakeType: URQ_FAILURE_BASE + reject,
    socketId: 0,
    cookie: hs.cookie,
    peerIp: peerIpWords(peerAddress),
    extensions: [],
  };
}

function refuse(reject: number, reason: string): Refusal {
  return { ok: false, reject, reason };
}
