// The pure parts of signed playback (issue 16): the age bound of the edge's registry knowledge, token times
// with their leeway, revocation by generation, and the access rules.
import { describe, expect, it } from 'vitest';
import { CLOCK_LEEWAY_SECONDS, checkTokenTimes, revokedByGeneration } from '../../../src/access/claims.ts';
import { KNOWLEDGE_MAX_AGE_MS, REVOCATION_BOUND_MS } from '../../../src/access/edge-registry.ts';
import { allowOrigin, checkRules } from '../../../src/access/rules.ts';
import { TtlCache } from '../../../src/access/ttl-cache.ts';

describe('TtlCache', () => {
  it('loads once per key within the bound, shares a load in flight, reloads after it', async () => {
    const cache = new TtlCache<number>({ maxAgeMs: KNOWLEDGE_MAX_AGE_MS, maxEntries: 3 });
    let loads = 0;
    const load = async () => ++loads;
    const t0 = 1_000_000;
    const [a, b] = await Promise.all([cache.get('k', t0, load), cache.get('k', t0, load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    expect(await cache.get('k', t0 + KNOWLEDGE_MAX_AGE_MS - 1, load)).toBe(1);
    expect(await cache.get('k', t0 + KNOWLEDGE_MAX_AGE_MS, load)).toBe(2);
    // The revocation bound holds with a second to spare for the reload's call.
    expect(KNOWLEDGE_MAX_AGE_MS).toBeLessThan(REVOCATION_BOUND_MS);
  });

  it('keeps no failed load, forgets on invalidate, and bounds its entries', async () => {
    const cache = new TtlCache<string>({ maxAgeMs: 1000, maxEntries: 2 });
    await expect(cache.get('x', 0, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('x', 1, async () => 'up')).toBe('up');
    cache.invalidate('x');
    expect(await cache.get('x', 2, async () => 'again')).toBe('again');
    for (const k of ['a', 'b', 'c']) await cache.get(k, 3, async () => k);
    expect(cache.size).toBe(2);
  });
});

describe('token times', () => {
  const now = 1_800_000_000_000;
  const s = now / 1000;
  it('tolerates the leeway either way and no more', () => {
    expect(checkTokenTimes({ sub: 'x', exp: s - CLOCK_LEEWAY_SECONDS }, now).ok).toBe(true);
    expect(checkTokenTimes({ sub: 'x', exp: s - CLOCK_LEEWAY_SECONDS - 1 }, now)).toMatchObject({
      ok: false,
      type: 'token-expired',
    });
    expect(checkTokenTimes({ sub: 'x', exp: s + 60, nbf: s + CLOCK_LEEWAY_SECONDS }, now).ok).toBe(true);
    expect(checkTokenTimes({ sub: 'x', exp: s + 60, nbf: s + CLOCK_LEEWAY_SECONDS + 1 }, now)).toMatchObject({
      ok: false,
      type: 'token-not-yet-valid',
    });
  });
});

describe('revocation by generation', () => {
  const revoked = { generation: 2, revokedAt: 1000 };
  it('refuses older generations and earlier issues, keeps current ones', () => {
    expect(revokedByGeneration({ sub: 'x', exp: 9e9 }, { generation: 0, revokedAt: 0 })).toBe(false);
    expect(revokedByGeneration({ sub: 'x', exp: 9e9 }, revoked)).toBe(true);
    expect(revokedByGeneration({ sub: 'x', exp: 9e9, gen: 1, iat: 999 }, revoked)).toBe(true);
    expect(revokedByGeneration({ sub: 'x', exp: 9e9, gen: 2, iat: 999 }, revoked)).toBe(false);
    expect(revokedByGeneration({ sub: 'x', exp: 9e9, iat: 1000 }, revoked)).toBe(false);
  });
});

describe('access rules', () => {
  const facts = { origin: null, referer: null, ip: '192.0.2.1', country: 'DE' };
  it('checks origin (or referer), address and country', () => {
    const rules = { allowedOrigins: ['https://a.example'] };
    expect(checkRules(rules, { ...facts, origin: 'https://a.example' }).ok).toBe(true);
    expect(checkRules(rules, { ...facts, referer: 'https://a.example/page' }).ok).toBe(true);
    expect(checkRules(rules, { ...facts, origin: 'null', referer: null }).ok).toBe(false);
    expect(checkRules(rules, facts).ok).toBe(false);
    expect(checkRules({ ip: '192.0.2.1' }, facts).ok).toBe(true);
    expect(checkRules({ ip: '192.0.2.2' }, facts).ok).toBe(false);
    expect(checkRules({ country: 'DE' }, facts).ok).toBe(true);
    expect(checkRules({ country: 'FR' }, facts).ok).toBe(false);
    expect(checkRules({ country: 'FR' }, { ...facts, country: null }).ok).toBe(false);
  });
  it('answers CORS with *, the allowed origin, or nothing', () => {
    expect(allowOrigin(null, 'https://x.example')).toBe('*');
    expect(allowOrigin({ allowedOrigins: ['https://x.example'] }, 'https://x.example')).toBe(
      'https://x.example',
    );
    expect(allowOrigin({ allowedOrigins: ['https://x.example'] }, 'https://y.example')).toBeNull();
  });
});
