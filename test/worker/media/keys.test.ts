// The R2 key layout leads with the session's retention class, so one lifecycle rule per class prefix can back
// the retention alarm (src/media/keys.ts; README, "Retention and deletion").
import { describe, expect, it } from 'vitest';
import {
  initKey,
  partKey,
  RETENTION_CLASSES,
  retentionClass,
  sessionClass,
  sessionIdPrefix,
  sessionPrefix,
  streamPrefixes,
} from '../../../src/media/keys.ts';
import { generateSessionId } from '../../../src/registry/ids.ts';

describe('retention classes in media keys', () => {
  it('rounds retentionDays up to a class, never down', () => {
    const cases: [number, number][] = [
      [1, 1],
      [2, 7],
      [7, 7],
      [8, 30],
      [30, 30],
      [31, 90],
      [365, 365],
      [366, 3650],
      [3650, 3650],
    ];
    for (const [days, c] of cases) expect(retentionClass(days), `${days} days`).toBe(c);
    for (let days = 1; days <= 3650; days++) expect(retentionClass(days)).toBeGreaterThanOrEqual(days);
  });

  it('puts the class first in every key, from the session id alone', () => {
    const session = generateSessionId(45);
    expect(session).toMatch(/^se_d90_[a-z2-7]{16}$/);
    expect(sessionClass(session)).toBe(90);
    expect(sessionPrefix('st_a', session)).toBe(`media/d90/st_a/${session}/`);
    expect(initKey('st_a', session, 'source')).toBe(`media/d90/st_a/${session}/source/init.mp4`);
    expect(partKey('st_a', session, '360p', 12, 3)).toBe(`media/d90/st_a/${session}/360p/12.3.m4s`);
  });

  it('gives a session id that names no class, or an unknown one, the longest class', () => {
    expect(sessionClass('se_a')).toBe(3650);
    expect(sessionClass('se_d31_abc')).toBe(3650);
    expect(sessionClass('se_dx_abc')).toBe(3650);
    expect(sessionPrefix('st_a', 'se_a')).toBe('media/d3650/st_a/se_a/');
  });

  it('lists one stream prefix per class, none of which holds another class or another stream', () => {
    const prefixes = streamPrefixes('st_a');
    expect(prefixes).toHaveLength(RETENTION_CLASSES.length);
    for (const c of RETENTION_CLASSES) {
      const key = partKey('st_a', `${sessionIdPrefix(c)}x`, 'source', 0, 0);
      expect(prefixes.filter((p) => key.startsWith(p))).toEqual([`media/d${c}/st_a/`]);
      expect(key.startsWith('media/d365/') && c !== 365).toBe(false);
      expect(streamPrefixes('st_ab').some((p) => key.startsWith(p))).toBe(false);
    }
  });
});
