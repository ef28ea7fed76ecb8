import { describe, expect, it } from 'vitest';
import { resolveByteRange } from '../../../src/vod/byte-range.ts';

describe('resolveByteRange (RFC 9110 14.1.2) over 1000 bytes', () => {
  const cases: [string | null, ReturnType<typeof resolveByteRange>][] = [
    [null, { kind: 'whole' }],
    ['bytes=0-0', { kind: 'partial', first: 0, last: 0 }],
    ['bytes=0-999', { kind: 'partial', first: 0, last: 999 }],
    ['bytes=500-', { kind: 'partial', first: 500, last: 999 }],
    ['bytes=990-5000', { kind: 'partial', first: 990, last: 999 }],
    ['bytes=-10', { kind: 'partial', first: 990, last: 999 }],
    ['bytes=-5000', { kind: 'partial', first: 0, last: 999 }],
    ['Bytes=10-20 ', { kind: 'partial', first: 10, last: 20 }],
    ['bytes= 10-20', { kind: 'whole' }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-1001', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    // Ignored (the whole file): invalid, another unit, several ranges.
    ['bytes=20-10', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['bytes=a-b', { kind: 'whole' }],
    ['items=0-1', { kind: 'whole' }],
    ['bytes=0-1,4-5', { kind: 'whole' }],
  ];
  for (const [header, expected] of cases) {
    it(`${header ?? '(none)'}`, () => expect(resolveByteRange(header, 1000)).toEqual(expected));
  }
});
