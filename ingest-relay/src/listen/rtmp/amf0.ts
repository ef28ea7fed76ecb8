/**
 * AMF0, the value encoding of RTMP command and data messages (Adobe "Action Message Format -- AMF 0", 2007).
 *
 * Decoding is bounded: nesting deeper than MAX_DEPTH, counts larger than the bytes left, references,
 * XML documents, typed objects and AVM+ switches are refused with an RtmpError, never a crash.
 */
import { RtmpError } from './error.ts';

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object;
export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** Type markers (AMF0 spec section 2.1). */
const Marker = {
  number: 0x00,
  boolean: 0x01,
  string: 0x02,
  object: 0x03,
  null: 0x05,
  undefined: 0x06,
  ecmaArray: 0x08,
  objectEnd: 0x09,
  strictArray: 0x0a,
  date: 0x0b,
  longString: 0x0c,
} as const;

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function fail(message: string): never {
  throw new RtmpError('bad-amf0', `AMF0: ${message}`);
}

class Amf0Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.pos;
  }

  #need(n: number): number {
    if (n > this.remaining) fail(`value at offset ${this.pos} needs ${n} bytes, ${this.remaining} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }
  u16(): number {
    return this.#view.getUint16(this.#need(2));
  }
  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }
  f64(): number {
    return this.#view.getFloat64(this.#need(8));
  }
  text(length: number): string {
    const at = this.#need(length);
    return utf8.decode(this.#bytes.subarray(at, at + length));
  }

  value(depth: number): Amf0Value {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    const marker = this.u8();
    switch (marker) {
      case Marker.number:
        return this.f64();
      case Marker.boolean:
        return this.u8() !== 0;
      case Marker.string:
        return this.text(this.u16());
      case Marker.longString:
        return this.text(this.u32());
      case Marker.object:
        return this.properties(depth);
      case Marker.null:
        return null;
      case Marker.undefined:
        return undefined;
      case Marker.ecmaArray:
        // The associative count is advisory (encoders get it wrong); the object-end marker terminates (2.10).
        this.u32();
        return this.properties(depth);
      case Marker.strictArray: {
        const count = this.u32();
        // Each element takes at least one byte: a count beyond the bytes left is malformed, not a huge alloc.
        if (count > this.remaining) fail(`strict array of ${count} elements in ${this.remaining} bytes`);
        const items: Amf0Value[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
        return items;
      }
      case Marker.date: {
        const ms = this.f64();
        this.u16(); // time-zone, "reserved, not supported, should be 0x0000" (2.13)
        return new Date(ms);
      }
      default:
        return fail(
          `unsupported type marker 0x${marker.toString(16).padStart(2, '0')} at offset ${this.pos - 1}`,
        );
    }
  }

  /** Property list up to the UTF-8-empty + object-end marker (2.5). */
  properties(depth: number): Amf0Object {
    const object: Amf0Object = Object.create(null);
    for (;;) {
      const key = this.text(this.u16());
      if (key === '' && this.remaining > 0 && this.#peek() === Marker.objectEnd) {
        this.pos++;
        return object;
      }
      object[key] = this.value(depth + 1);
    }
  }

  #peek(): number {
    return this.#view.getUint8(this.pos);
  }
}

/** Decodes every value in `bytes` (a command message is a sequence of AMF0 values). */
export function decodeAmf0(bytes: Uint8Array): Amf0Value[] {
  const reader = new Amf0Reader(bytes);
  const values: Amf0Value[] = [];
  while (reader.remaining > 0) values.push(reader.value(0));
  return values;
}

class Amf0Writer {
  readonly parts: Uint8Array[] = [];

  u8(v: number): void {
    this.parts.push(Uint8Array.of(v));
  }
  u16(v: number): void {
    this.parts.push(Uint8Array.of(v >>> 8, v & 0xff));
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    this.parts.push(b);
  }
  f64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    this.parts.push(b);
  }
  key(k: string): void {
    const b = utf8Encoder.encode(k);
    if (b.byteLength > 0xffff) throw new RangeError('AMF0 property name longer than 65535 bytes');
    this.u16(b.byteLength);
    this.parts.push(b);
  }

  value(v: Amf0Value, depth: number): void {
    if (depth > MAX_DEPTH) throw new RangeError(`AMF0 value nested deeper than ${MAX_DEPTH}`);
    if (typeof v === 'number') {
      this.u8(Marker.number);
      this.f64(v);
    } else if (typeof v === 'boolean') {
      this.u8(Marker.boolean);
      this.u8(v ? 1 : 0);
    } else if (typeof v === 'string') {
      const b = utf8Encoder.encode(v);
      if (b.byteLength > 0xffff) {
        this.u8(Marker.longString);
        this.u32(b.byteLength);
      } else {
        this.u8(Marker.string);
        this.u16(b.byteLength);
      }
      this.parts.push(b);
    } else if (v === null) {
      this.u8(Marker.null);
    } else if (v === undefined) {
      this.u8(Marker.undefined);
    } else if (v instanceof Date) {
      this.u8(Marker.date);
      this.f64(v.getTime());
      this.u16(0);
    } else if (Array.isArray(v)) {
      this.u8(Marker.strictArray);
      this.u32(v.length);
      for (const item of v) this.value(item, depth + 1);
    } else {
      this.u8(Marker.object);
      this.properties(v, depth);
    }
  }

  properties(object: Amf0Object, depth: number): void {
    for (const [k, item] of Object.entries(object)) {
      this.key(k);
      this.value(item, depth + 1);
    }
    this.u16(0);
    this.u8(Marker.objectEnd);
  }

  bytes(): Uint8Array {
    const total = this.parts.reduce((n, p) => n + p.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** Encodes values back to back, as a command message body. Objects become AMF0 objects, arrays strict arrays. */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  const writer = new Amf0Writer();
  for (const v of values) writer.value(v, 0);
  return writer.bytes();
}

/** An ECMA (associative) array, as `onMetaData` uses (2.10); decodes back to a plain object. */
export function encodeAmf0EcmaArray(object: Amf0Object): Uint8Array {
  const writer = new Amf0Writer();
  writer.u8(Marker.ecmaArray);
  writer.u32(Object.keys(object).length);
  writer.properties(object, 0);
  return writer.bytes();
}

/** Narrowing helper for command objects: the property when it is a string. */
export function amf0String(object: Amf0Value, key: string): string | undefined {
  if (object === null || typeof object !== 'object' || Array.isArray(object) || object instanceof Date) {
    return undefined;
  }
  const v = object[key];
  return typeof v === 'string' ? v : undefined;
}
