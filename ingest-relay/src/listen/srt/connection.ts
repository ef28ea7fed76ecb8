/**
 * One accepted SRT connection: routes its packets to the receiver, decrypts payloads, answers keepalive,
 * ACKACK, key refresh and shutdown, and reports liveness. Time is passed in (µs, local monotonic clock).
 */
import { aesCtr } from './crypto.ts';
import { ExtType } from './handshake-wire.ts';
import { parseKeyMaterial, type StreamKeys, unwrapKeys } from './key-material.ts';
import { ControlType, control, type DataPacket, KeyFlag, type SrtPacket, serializePacket } from './packet.ts';
import { lateDropGraceUs, Receiver, type ReceiverOutput, type ReceiverStats } from './receiver.ts';

export interface ConnectionStats extends ReceiverStats {
  socketId: number;
  peer: string;
  streamId: string;
  latencyMs: number;
  encrypted: boolean;
  undecryptable: number;
}

export interface ConnectionOptions {
  socketId: number;
  peerSocketId: number;
  peer: { address: string; port: number };
  streamId: string;
  initialSeq: number;
  flowWindow: number;
  latencyMs: number;
  keys: StreamKeys | undefined;
  passphrase: string | null;
  /** The conclusion response, sent again if the caller repeats its conclusion (our answer was lost). */
  conclusionResponse: Uint8Array;
  startUs: number;
  /** Local µs at which the peer's clock read 0 (from the conclusion's timestamp). */
  peerStartUs: number;
  sendDatagram(bytes: Uint8Array): void;
  onPayload(payload: Uint8Array): void;
  onClose(reason: string): void;
}

const KEEPALIVE_US = 1_000_000;

export class SrtConnection {
  readonly socketId: number;
  readonly peerSocketId: number;
  readonly peerKey: string;
  readonly #opts: ConnectionOptions;
  readonly #receiver: Receiver;
  #keys: StreamKeys | undefined;
  #undecryptable = 0;
  #lastHeardUs: number;
  #lastSentUs: number;
  #closed = false;

  constructor(opts: ConnectionOptions) {
    this.#opts = opts;
    this.socketId = opts.socketId;
    this.peerSocketId = opts.peerSocketId;
    this.peerKey = `${opts.peer.address}:${opts.peer.port}`;
    this.#keys = opts.keys;
    this.#lastHeardUs = opts.startUs;
    this.#lastSentUs = opts.startUs;
    this.#receiver = new Receiver({
      initialSeq: opts.initialSeq,
      latencyUs: opts.latencyMs * 1000,
      dropGraceUs: lateDropGraceUs(opts.latencyMs * 1000),
      peerStartUs: opts.peerStartUs,
      flowWindow: opts.flowWindow,
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get lastHeardUs(): number {
    return this.#lastHeardUs;
  }

  resendConclusion(): void {
    this.#opts.sendDatagram(this.#opts.conclusionResponse);
  }

  /** `stalledUs`: how long the packet may have waited unread (receive-first.ts), taken off RTT samples. */
  onPacket(pkt: SrtPacket, nowUs: number, stalledUs = 0): void {
    if (this.#closed) return;
    this.#lastHeardUs = nowUs;
    if (pkt.kind === 'data') {
      const payload = this.#decrypt(pkt);
      if (payload === undefined) return;
      this.#apply(this.#receiver.onData({ ...pkt, payload }, nowUs), nowUs);
      return;
    }
    switch (pkt.type) {
      case ControlType.keepalive:
        return;
      case ControlType.ackack:
        this.#receiver.onAckAck(pkt.info, nowUs, stalledUs);
        return;
      case ControlType.dropRequest: {
        // CIF: first and last sequence numbers of the dropped message (draft §3.2.9).
        if (pkt.cif.byteLength < 8) return;
        const v = new DataView(pkt.cif.buffer, pkt.cif.byteOffset, pkt.cif.byteLength);
        this.#receiver.onDropRequest(v.getUint32(0) & 0x7fffffff, v.getUint32(4) & 0x7fffffff);
        return;
      }
      case ControlType.shutdown:
        // The sender finished: what is buffered is all there will be, so hand it over now.
        for (const payload of this.#receiver.drain()) this.#opts.onPayload(payload);
        this.close('peer shutdown', false);
        return;
      case ControlType.handshake:
        this.resendConclusion();
        return;
      case ControlType.userDefined:
        if (pkt.subtype === ExtType.kmreq) this.#refreshKeys(pkt.cif, nowUs);
        return;
      default:
        return;
    }
  }

  tick(nowUs: number): void {
    if (this.#closed) return;
    this.#apply(this.#receiver.tick(nowUs), nowUs);
    if (nowUs - this.#lastSentUs >= KEEPALIVE_US)
      this.#sendControl(ControlType.keepalive, 0, undefined, nowUs);
  }

  /** Closes the connection; `notifyPeer` sends SHUTDOWN (draft §3.2.6). Idempotent. */
  close(reason: string, notifyPeer: boolean, nowUs = this.#lastHeardUs): void {
    if (this.#closed) return;
    if (notifyPeer) this.#sendControl(ControlType.shutdown, 0, new Uint8Array(4), nowUs);
    this.#closed = true;
    this.#opts.onClose(reason);
  }

  stats(): ConnectionStats {
    return {
      ...this.#receiver.stats(),
      socketId: this.socketId,
      peer: this.peerKey,
      streamId: this.#opts.streamId,
      latencyMs: this.#opts.latencyMs,
      encrypted: this.#keys !== undefined,
      undecryptable: this.#undecryptable,
    };
  }

  #decrypt(pkt: DataPacket): Uint8Array | undefined {
    if (pkt.keyFlag === KeyFlag.none) {
      if (this.#keys === undefined) return pkt.payload;
      this.#undecryptable++; // clear text on an encrypted connection
      return undefined;
    }
    const key =
      pkt.keyFlag === KeyFlag.even
        ? this.#keys?.even
        : pkt.keyFlag === KeyFlag.odd
          ? this.#keys?.odd
          : undefined;
    if (key === undefined || this.#keys === undefined) {
      this.#undecryptable++;
      return undefined;
    }
    return aesCtr(key, this.#keys.salt, pkt.seq, pkt.payload);
  }

  /** Key refresh (draft §3.2.2, §6.1.6): the sender announces a new even/odd key in a KMREQ control packet. */
  #refreshKeys(cif: Uint8Array, nowUs: number): void {
    const km = parseKeyMaterial(cif);
    if (!km.ok || this.#opts.passphrase === null) return;
    const keys = unwrapKeys(km.value, this.#opts.passphrase);
    if (keys === undefined) return;
    this.#keys = {
      salt: keys.salt,
      even: keys.even ?? this.#keys?.even,
      odd: keys.odd ?? this.#keys?.odd,
    };
    this.#sendControl(ControlType.userDefined, 0, cif, nowUs, ExtType.kmrsp);
  }

  #apply(out: ReceiverOutput, nowUs: number): void {
    for (const c of out.control) this.#sendControl(c.type, c.info, c.cif, nowUs);
    for (const payload of out.delivered) {
      if (this.#closed) return;
      this.#opts.onPayload(payload);
    }
  }

  #sendControl(type: number, info: number, cif: Uint8Array | undefined, nowUs: number, subtype = 0): void {
    this.#lastSentUs = nowUs;
    const pkt = control(type, {
      destSocketId: this.peerSocketId,
      timestamp: (nowUs - this.#opts.startUs) >>> 0,
      info,
      subtype,
      cif: cif ?? new Uint8Array(0),
    });
    this.#opts.sendDatagram(serializePacket(pkt));
  }
}
