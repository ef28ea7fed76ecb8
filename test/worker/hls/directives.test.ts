import { describe, expect, it } from 'vitest';
import {
  advancePartLimit,
  type DirectiveDecision,
  type Directives,
  deltaRequest,
  type PlaylistPosition,
  parseDirectives,
  resolveDirective,
  skipBoundary,
} from '../../../src/hls/directives.ts';

describe('parseDirectives', () => {
  const accepted: [string, Directives][] = [
    ['', {}],
    ['_HLS_msn=5', { msn: 5 }],
    ['_HLS_msn=5&_HLS_part=0', { msn: 5, part: 0 }],
    ['_HLS_msn=105&_HLS_part=2&_HLS_skip=YES', { msn: 105, part: 2, skip: 'YES' }],
    ['_HLS_skip=v2', { skip: 'v2' }],
    ['_HLS_msn=007', { msn: 7 }],
    ['_HLS_msn=0&_HLS_part=0', { msn: 0, part: 0 }],
    // Other _HLS_ names are reserved but not defined (6.2.5): ignored, like any other parameter.
    ['_HLS_pathway=x&cb=123&_HLS_msn=9', { msn: 9 }],
  ];
  for (const [query, value] of accepted) {
    it(`accepts ${JSON.stringify(query)}`, () => {
      expect(parseDirectives(new URLSearchParams(query))).toEqual({ ok: true, value });
    });
  }

  const refused: [string, string][] = [
    ['_HLS_part=1', '_HLS_part needs _HLS_msn'],
    ['_HLS_part=1&_HLS_skip=YES', '_HLS_part needs _HLS_msn'],
    ['_HLS_msn=-1', 'non-negative decimal integer'],
    ['_HLS_msn=1.5', 'non-negative decimal integer'],
    ['_HLS_msn=abc', 'non-negative decimal integer'],
    ['_HLS_msn=', 'non-negative decimal integer'],
    ['_HLS_msn=1e3', 'non-negative decimal integer'],
    ['_HLS_msn=%2B1', 'non-negative decimal integer'],
    ['_HLS_msn=%201', 'non-negative decimal integer'],
    ['_HLS_msn=0x10', 'non-negative decimal integer'],
    ['_HLS_msn=9999999999999999', 'non-negative decimal integer'],
    ['_HLS_msn=4&_HLS_part=-2', '_HLS_part must be a non-negative decimal integer'],
    ['_HLS_msn=1&_HLS_msn=2', 'more than once'],
    ['_HLS_msn=1&_HLS_part=0&_HLS_part=1', 'more than once'],
    ['_HLS_skip=NO', 'YES or v2'],
    ['_HLS_skip=yes', 'YES or v2'],
    ['_HLS_skip=YES&_HLS_skip=YES', 'more than once'],
  ];
  for (const [query, detail] of refused) {
    it(`refuses ${JSON.stringify(query)} (400)`, () => {
      const result = parseDirectives(new URLSearchParams(query));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.detail).toContain(detail);
    });
  }
});

/** Segments 100..105 complete with 5 parts each; the open segment 106 has parts 0..2. */
function position(overrides: Partial<PlaylistPosition> = {}): PlaylistPosition {
  return {
    lastMsn: 106,
    lastPart: 2,
    lastCompleteMsn: 105,
    // Parts are listed for the last two complete segments only.
    partCounts: (msn) => (msn >= 104 && msn <= 105 ? 5 : undefined),
    ended: false,
    ...overrides,
  };
}

/** The open segment 106 has no part yet, so the newest part is 105's last. */
const openWithoutParts = position({ lastMsn: 105, lastPart: 4 });
const nothingYet = position({ lastMsn: -1, lastPart: -1, lastCompleteMsn: -1, partCounts: () => undefined });

type Kind = DirectiveDecision['kind'];
const PART_TARGET = 0.4; // Advance Part Limit 7.5 parts

describe('resolveDirective (6.2.5.2)', () => {
  const cases: [string, PlaylistPosition, Directives, Kind][] = [
    ['no directive', position(), {}, 'ready'],
    ['skip alone', position(), { skip: 'YES' }, 'ready'],
    ['msn of a complete segment', position(), { msn: 105 }, 'ready'],
    ['msn older than the window', position(), { msn: 3 }, 'ready'],
    ['msn of the open segment waits for the whole segment', position(), { msn: 106 }, 'wait'],
    ['msn one past the open segment', position(), { msn: 107 }, 'wait'],
    ['msn two past the last segment', position(), { msn: 108 }, 'wait'],
    ['msn three past the last segment', position(), { msn: 109 }, 'reject'],
    ['the newest part', position(), { msn: 106, part: 2 }, 'ready'],
    ['an older part of the open segment', position(), { msn: 106, part: 0 }, 'ready'],
    ['the next part', position(), { msn: 106, part: 3 }, 'wait'],
    ['a part of a complete segment', position(), { msn: 105, part: 4 }, 'ready'],
    [
      'past the last part of a complete segment: part 0 of the next, which exists',
      position(),
      { msn: 105, part: 5 },
      'ready',
    ],
    [
      'far past the last part of a complete segment is still part 0 of the next',
      position(),
      { msn: 105, part: 99 },
      'ready',
    ],
    [
      'past the last part of the newest complete segment: part 0 of the open one, not there yet',
      openWithoutParts,
      { msn: 105, part: 5 },
      'wait',
    ],
    ['the last part of the newest complete segment', openWithoutParts, { msn: 105, part: 4 }, 'ready'],
    ['part 0 of the open segment with no parts', openWithoutParts, { msn: 106, part: 0 }, 'wait'],
    ['a part of a complete segment whose count left the window', position(), { msn: 102, part: 7 }, 'ready'],
    ['7 parts ahead is within the Advance Part Limit (7.5)', position(), { msn: 106, part: 9 }, 'wait'],
    ['8 parts ahead is beyond it', position(), { msn: 106, part: 10 }, 'reject'],
    ['part 0 of the next segment', position(), { msn: 107, part: 0 }, 'wait'],
    ['part 6 of the next segment: at least 7 ahead', position(), { msn: 107, part: 6 }, 'wait'],
    ['part 7 of the next segment: at least 8 ahead', position(), { msn: 107, part: 7 }, 'reject'],
    ['part 0 three segments ahead', position(), { msn: 109, part: 0 }, 'reject'],
    ['ended: directives ignored', position({ ended: true }), { msn: 500, part: 40 }, 'ready'],
    ['before any part: the first part', nothingYet, { msn: 0, part: 0 }, 'wait'],
    ['before any part: segment 1', nothingYet, { msn: 1 }, 'wait'],
    ['before any part: segment 2', nothingYet, { msn: 2 }, 'reject'],
    ['part without msn, even when ended', position({ ended: true }), { part: 1 }, 'reject'],
  ];
  for (const [name, at, directives, kind] of cases) {
    it(`${name}: ${kind}`, () => {
      expect(resolveDirective(at, directives, PART_TARGET).kind).toBe(kind);
    });
  }

  it('explains a rejection', () => {
    const decision = resolveDirective(position(), { msn: 106, part: 10 }, PART_TARGET);
    expect(decision).toEqual({ kind: 'reject', detail: expect.stringContaining('Advance Part Limit') });
  });

  it('with parts of a second or longer, the limit is three parts', () => {
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
    expect(advancePartLimit(0.5)).toBe(6);
    expect(resolveDirective(position(), { msn: 106, part: 5 }, 1).kind).toBe('wait');
    expect(resolveDirective(position(), { msn: 106, part: 6 }, 1).kind).toBe('reject');
  });

  it('turns from wait to ready as parts land', () => {
    const wanted: Directives = { msn: 107, part: 1 };
    const landed: Kind[] = [];
    // 106 gets parts 3 and 4 and completes, then 107 gets parts 0 and 1.
    const steps: Partial<PlaylistPosition>[] = [
      { lastMsn: 106, lastPart: 3 },
      { lastMsn: 106, lastPart: 4, lastCompleteMsn: 106 },
      { lastMsn: 107, lastPart: 0, lastCompleteMsn: 106 },
      { lastMsn: 107, lastPart: 1, lastCompleteMsn: 106 },
    ];
    for (const step of steps) landed.push(resolveDirective(position(step), wanted, PART_TARGET).kind);
    expect(landed).toEqual(['wait', 'wait', 'wait', 'ready']);
  });
});

describe('deltaRequest (6.2.5.1)', () => {
  it('answers the delta asked for when the playlist offers CAN-SKIP-UNTIL and is live', () => {
    expect(deltaRequest({ skip: 'YES' }, { canSkipUntil: 12, ended: false })).toBe('YES');
    expect(deltaRequest({ skip: 'v2' }, { canSkipUntil: 12, ended: false })).toBe('v2');
  });
  it('ignores _HLS_skip without CAN-SKIP-UNTIL or once ended', () => {
    expect(deltaRequest({ skip: 'YES' }, { canSkipUntil: undefined, ended: false })).toBeNull();
    expect(deltaRequest({ skip: 'v2' }, { canSkipUntil: 12, ended: true })).toBeNull();
    expect(deltaRequest({ msn: 4 }, { canSkipUntil: 12, ended: false })).toBeNull();
  });
});

describe('skipBoundary (6.2.5.1)', () => {
  const twos = (n: number) => Array.from({ length: n }, () => 2);
  it('skips the segments that end more than the Skip Boundary before the end', () => {
    expect(skipBoundary(twos(12), 12)).toBe(5);
    expect(skipBoundary(twos(8), 12)).toBe(1);
  });
  it('keeps a segment that ends exactly at the boundary or straddles it', () => {
    expect(skipBoundary(twos(7), 12)).toBe(0);
    expect(skipBoundary([2.5, 1.5, 2, 2, 2, 2, 2, 2], 12)).toBe(1);
    expect(skipBoundary([3, 2, 2, 2, 2, 2, 2], 11)).toBe(1);
  });
  it('skips nothing from a short or empty playlist', () => {
    expect(skipBoundary([], 12)).toBe(0);
    expect(skipBoundary(twos(3), 12)).toBe(0);
  });
});
