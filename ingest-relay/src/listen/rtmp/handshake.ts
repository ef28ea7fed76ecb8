/**
 * The server side of the RTMP handshake (Adobe RTMP specification 1.0, section 5.2): C0+C1 in, S0+S1+S2 out,
 * then C2 in. This is the "simple" handshake: S1 carries zeros where the digest scheme would put a version,
 * which tells clients not to look for a digest. ffmpeg's native client only checks the server digest when
 * playing and S1[4] >= 3, and librtmp (OBS) only warns when S2 does not echo C1, so both accept it.
 *
 * Pure state: fed by push(), no I/O; time and randomness are arguments.
 */
import { RtmpError } from './error.ts';

export const RTMP_VERSION = 3;
/** C1/S1/C2/S2 length (5.2.3). */
export const HANDSHAKE_SIZE = 1536;

export interface HandshakeOutput {
  /** S0+S1+S2, to send once C0+C1 arrived. */
  reply?: Uint8Array;
  /** True once C2 arrived: the chunk stream starts with `rest`. */
  done: boolean;
  /** Bytes after C2 (clients may pipeline the first chunks behind C2). */
  rest?: Uint8Array;
}

export interface HandshakeOptions {
  /** Server epoch for the S1 time field, milliseconds (5.2.3: "may be 0, or some arbitrary value"). */
  timeMs: number;
  /** Fills the 1528 random bytes of S1. */
  random: (bytes: Uint8Array) => void;
}

export class ServerHandshake {
  readonly #options: HandshakeOptions;
  /** C0+C1 as it arrives, filled in place: a read is copied once, not joined to what came before. */
  readonly #c0c1 = new Uint8Array(1 + HANDSHAKE_SIZE);
  /** Bytes of the current stage (C0+C1, then C2) received so far. */
  #received = 0;
  #stage: 'c0c1' | 'c2' | 'done' = 'c0c1';

  constructor(options: HandshakeOptions) {
    this.#options = options;
  }

  get done(): boolean {
    return this.#stage === 'done';
  }

  /** What a connection closed now would be missing, for the log line. */
  describeIncomplete(): string {
    if (this.#stage === 'c0c1') {
      return `handshake truncated: got ${this.#received} of ${1 + HANDSHAKE_SIZE} bytes of C0+C1`;
    }
    if (this.#stage === 'c2')
      return `handshake truncated: got ${this.#received} of ${HANDSHAKE_SIZE} bytes of C2`;
    return 'handshake complete';
  }

  push(bytes: Uint8Array): HandshakeOutput {
    if (this.#stage === 'done') return { done: true, rest: bytes };
    const out: HandshakeOutput = { done: false };
    let rest = bytes;
    if (this.#stage === 'c0c1') {
      const take = Math.min(rest.byteLength, this.#c0c1.byteLength - this.#received);
      this.#c0c1.set(rest.subarray(0, take), this.#received);
      this.#received += take;
      rest = rest.subarray(take);
      const version = this.#c0c1[0];
      // 5.2.2: version 3 is plain RTMP; 6 and up are RTMPE and others this server does not speak.
      if (this.#received > 0 && version !== RTMP_VERSION) {
        throw new RtmpError(
          'bad-handshake',
          `unsupported RTMP version ${version} in C0 (only 3 is supported)`,
        );
      }
      if (this.#received < this.#c0c1.byteLength) return out;
      out.reply = this.#reply(this.#c0c1.subarray(1));
      this.#received = 0;
      this.#stage = 'c2';
    }
    // C2 echoes S1 (5.2.4); nothing in it changes what the server does, so it is only counted.
    const take = Math.min(rest.byteLength, HANDSHAKE_SIZE - this.#received);
    this.#received += take;
    if (this.#received < HANDSHAKE_SIZE) return out;
    out.done = true;
    out.rest = rest.subarray(take);
    this.#stage = 'done';
    return out;
  }

  #reply(c1: Uint8Array): Uint8Array {
    const out = new Uint8Array(1 + 2 * HANDSHAKE_SIZE);
    const view = new DataView(out.buffer);
    out[0] = RTMP_VERSION;
    // S1: time (4 bytes), zero (4 bytes), random (1528 bytes) -- 5.2.3.
    view.setUint32(1, this.#options.timeMs >>> 0);
    view.setUint32(5, 0);
    this.#options.random(out.subarray(9, 1 + HANDSHAKE_SIZE));
    // S2: C1's time, the time C1 was read, C1's random echo -- 5.2.4.
    const s2 = 1 + HANDSHAKE_SIZE;
    out.set(c1, s2);
    view.setUint32(s2 + 4, this.#options.timeMs >>> 0);
    return out;
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
