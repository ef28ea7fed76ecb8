/**
 * Byte and bit readers with a sticky error, and a growable writer (STYLE.md habit 4).
 *
 * A read past the end never throws: it sets `error`, returns 0 (or an empty array) and every later read does
 * the same. Callers check `error` once per box, packet or parameter set instead of wrapping every read.
 */

export class ByteReader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  #pos = 0;
  /** Set by the first read that ran past the end; reads after it return 0 / empty. */
  error: string | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #take(n: number): number {
    if (this.error !== undefined) return -1;
    if (n < 0 || this.#pos + n > this.#bytes.byteLength) {
      this.error = `read of ${n} bytes at offset ${this.#pos} runs past the end (${this.#bytes.byteLength})`;
      return -1;
    }
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    const at = this.#take(1);
    return at < 0 ? 0 : this.#view.getUint8(at);
  }

  u16(): number {
    const at = this.#take(2);
    return at < 0 ? 0 : this.#view.getUint16(at);
  }

  u24(): number {
    const at = this.#take(3);
    return at < 0 ? 0 : (this.#view.getUint16(at) << 8) | this.#view.getUint8(at + 2);
  }

  u32(): number {
    const at = this.#take(4);
    return at < 0 ? 0 : this.#view.getUint32(at);
  }

  /** Bytes as a view into the source (no copy). */
  bytes(n: number): Uint8Array {
    const at = this.#take(n);
    return at < 0 ? new Uint8Array(0) : this.#bytes.subarray(at, at + n);
  }

  skip(n: number): void {
    this.#take(n);
  }
}

/**
 * MSB-first bit reader for H.264 RBSPs (ISO 14496-10 7.2), with Exp-Golomb codes (9.1). Same sticky-error rule.
 */
export class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;
  error: string | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get bitsLeft(): number {
    return this.#bytes.byteLength * 8 - this.#bit;
  }

  /** One bit; 0 after the end (and `error` set). */
  bit(): number {
    if (this.error !== undefined) return 0;
    if (this.#bit >= this.#bytes.byteLength * 8) {
      this.error = 'bit read past the end';
      return 0;
    }
    const byte = this.#bytes[this.#bit >> 3] ?? 0;
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }

  /** `n` bits (n <= 32) as an unsigned number. */
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  skipBits(n: number): void {
    for (let i = 0; i < n && this.error === undefined; i++) this.bit();
  }

  /** ue(v): unsigned Exp-Golomb (ISO 14496-10 9.1). More than 31 leading zeros is malformed. */
  readUE(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (this.error !== undefined) return 0;
      if (++zeros > 31) {
        this.error = 'Exp-Golomb code longer than 32 bits';
        return 0;
      }
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v): signed Exp-Golomb (9.1.1): 1, -1, 2, -2, ... */
  readSE(): number {
    const k = this.readUE();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** Growable big-endian writer for boxes and config records. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): number {
    if (this.#len + n > this.#buf.byteLength) {
      const next = new Uint8Array(Math.max(this.#buf.byteLength * 2, this.#len + n));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  u8(v: number): this {
    const at = this.#reserve(1);
    this.#view.setUint8(at, v & 0xff);
    return this;
  }

  u16(v: number): this {
    const at = this.#reserve(2);
    this.#view.setUint16(at, v & 0xffff);
    return this;
  }

  u24(v: number): this {
    const at = this.#reserve(3);
    this.#view.setUint16(at, (v >>> 8) & 0xffff);
    this.#view.setUint8(at + 2, v & 0xff);
    return this;
  }

  u32(v: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, v >>> 0);
    return this;
  }

  /** Signed 32-bit (e.g. trun v1 composition offsets). */
  i32(v: number): this {
    const at = this.#reserve(4);
    this.#view.setInt32(at, v | 0);
    return this;
  }

  /** 64-bit unsigned from a safe integer (tfdt v1, mdhd v1 durations). */
  u64(v: number): this {
    const at = this.#reserve(8);
    this.#view.setUint32(at, Math.floor(v / 2 ** 32));
    this.#view.setUint32(at + 4, v >>> 0);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.#reserve(b.byteLength);
    this.#buf.set(b, at);
    return this;
  }

  /** The written bytes (a copy, so the writer can be reused). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Whether `a` holds the same bytes as `b` (false when `a` is absent). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Result of parsing untrusted bytes: a value, or a reason the bytes are malformed (never a throw). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function malformed<T>(error: string): Parsed<T> {
  return { ok: false, error };
}
