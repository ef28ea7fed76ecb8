import { describe, expect, it } from 'vitest';
import {
  type Amf0Value,
  decodeAmf0,
  encodeAmf0,
  encodeAmf0EcmaArray,
} from '../../../ingest-relay/src/listen/rtmp/amf0.ts';
import { RtmpError } from '../../../ingest-relay/src/listen/rtmp/error.ts';

describe('AMF0', () => {
  const cases: Array<[string, Amf0Value]> = [
    ['number', 1.5],
    ['negative zero-ish number', -1234567.875],
    ['boolean true', true],
    ['boolean false', false],
    ['string', 'live/key_123'],
    ['utf-8 string', 'caméra ✓'],
    ['empty string', ''],
    ['null', null],
    ['undefined', undefined],
    ['date', new Date(1_700_000_000_123)],
    ['strict array', [1, 'two', null, [true]]],
    ['object', { app: 'live', tcUrl: 'rtmp://127.0.0.1/live', nested: { level: 2, list: [1, 2] } }],
    ['long string', 'x'.repeat(70_000)],
  ];
  for (const [name, value] of cases) {
    it(`round-trips ${name}`, () => {
      expect(decodeAmf0(encodeAmf0(value))).toEqual([value]);
    });
  }

  it('encodes a connect command with known bytes', () => {
    // "connect" string: marker 0x02, length 7; number 1: marker 0x00 + IEEE 754 double 0x3ff0...
    const bytes = encodeAmf0('connect', 1);
    expect(Array.from(bytes)).toEqual([
      0x02,
      0x00,
      0x07,
      ...Buffer.from('connect'),
      0x00,
      0x3f,
      0xf0,
      0,
      0,
      0,
      0,
      0,
      0,
    ]);
  });

  it('decodes an ECMA array (onMetaData) as an object, ignoring a wrong count', () => {
    const bytes = encodeAmf0EcmaArray({ width: 320, height: 240, encoder: 'Lavf' });
    bytes[4] = 99; // the count is advisory (AMF0 2.10)
    expect(decodeAmf0(bytes)).toEqual([{ width: 320, height: 240, encoder: 'Lavf' }]);
  });

  it('decodes several values back to back', () => {
    expect(decodeAmf0(encodeAmf0('publish', 5, null, 'key', 'live'))).toEqual([
      'publish',
      5,
      null,
      'key',
      'live',
    ]);
  });

  it('keeps __proto__ as a plain key', () => {
    const obj = decodeAmf0(encodeAmf0(JSON.parse('{"__proto__": {"polluted": true}}')))[0];
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(obj as object)).toEqual(['__proto__']);
  });

  it('refuses truncated values, unknown markers, deep nesting and huge counts', () => {
    const full = encodeAmf0({ a: 'hello' });
    for (let cut = 1; cut < full.byteLength; cut++) {
      expect(() => decodeAmf0(full.subarray(0, cut))).toThrow(RtmpError);
    }
    expect(() => decodeAmf0(Uint8Array.of(0x11, 0x00))).toThrow(/unsupported type marker 0x11/);
    expect(() => decodeAmf0(Uint8Array.of(0x07, 0x00, 0x01))).toThrow(/0x07/);
    const deep = new Uint8Array(200).fill(0x0a);
    expect(() => decodeAmf0(deep)).toThrow(RtmpError);
    let nested: Amf0Value = 1;
    for (let i = 0; i < 40; i++) nested = [nested];
    const strict = new Uint8Array(40 * 5 + 9);
    for (let i = 0; i < 40; i++) strict.set([0x0a, 0, 0, 0, 1], i * 5);
    strict.set(encodeAmf0(1), 200);
    expect(() => decodeAmf0(strict)).toThrow(/nesting deeper/);
    expect(() => decodeAmf0(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x05))).toThrow(/strict array of/);
  });
});
