import { describe, expect, it } from 'vitest';
import { call, createStream, expectProblem, INGEST_TOKEN, withoutKeys } from './client.ts';

describe('request validation on /v1', () => {
  const invalidCreates: [string, unknown, string][] = [
    ['partTarget as a string', { partTarget: '0.5' }, 'partTarget'],
    ['partTarget below 0.1', { partTarget: 0.05 }, 'partTarget'],
    ['partTarget above 2', { partTarget: 2.5 }, 'partTarget'],
    ['segmentTarget above 10', { segmentTarget: 11 }, 'segmentTarget'],
    ['segmentTarget below partTarget', { partTarget: 1.5, segmentTarget: 1 }, 'segmentTarget'],
    ['reconnectWindow negative', { reconnectWindow: -1 }, 'reconnectWindow'],
    ['reconnectWindow above 300', { reconnectWindow: 301 }, 'reconnectWindow'],
    ['failoverTimeout below 0.5', { failoverTimeout: 0.4 }, 'failoverTimeout'],
    ['failoverTimeout above 10', { failoverTimeout: 11 }, 'failoverTimeout'],
    ['failbackHoldOff negative', { failbackHoldOff: -1 }, 'failbackHoldOff'],
    ['failbackHoldOff above 300', { failbackHoldOff: 301 }, 'failbackHoldOff'],
    ['maxBitrate negative', { maxBitrate: -1 }, 'maxBitrate'],
    ['maxBitrate not an integer', { maxBitrate: 1.5 }, 'maxBitrate'],
    ['maxBitrate above 200 Mb/s', { maxBitrate: 200_000_001 }, 'maxBitrate'],
    ['name not a string', { name: 42 }, 'name'],
    ['name too long', { name: 'x'.repeat(201) }, 'name'],
    ['srtPassphrase too short', { srtPassphrase: 'short' }, 'srtPassphrase'],
    ['srtPassphrase too long', { srtPassphrase: 'p'.repeat(80) }, 'srtPassphrase'],
    ['srtPassphrase null on create', { srtPassphrase: null }, 'srtPassphrase'],
    ['an unknown field', { partTaget: 0.5 }, 'partTaget'],
    ['a streamKey chosen by the client', { streamKey: 'sk_mine' }, 'streamKey'],
  ];

  for (const [what, json, field] of invalidCreates) {
    it(`POST refuses ${what} with 422 naming ${field}`, async () => {
      const problem = await expectProblem(
        await call('POST', '/v1/streams', { json }),
        422,
        'validation-failed',
      );
      expect(problem.detail).toContain(field);
      expect(problem.errors?.map((e) => e.field)).toContain(field);
    });
  }

  it('refuses a body that is not an object', async () => {
    for (const json of [[], 'text', 3, null]) {
      await expectProblem(await call('POST', '/v1/streams', { json }), 422, 'validation-failed');
    }
  });

  it('PATCH refuses wrong types and unknown fields, and keeps the stream unchanged', async () => {
    const s = await createStream({ name: 'unchanged' });
    await expectProblem(
      await call('PATCH', `/v1/streams/${s.id}`, { json: { segmentTarget: true } }),
      422,
      'validation-failed',
    );
    await expectProblem(
      await call('PATCH', `/v1/streams/${s.id}`, { json: { status: 'live' } }),
      422,
      'validation-failed',
    );
    const read = await (await call('GET', `/v1/streams/${s.id}`)).json();
    expect(read).toEqual(withoutKeys(s));
  });

  it('answers 400 for malformed JSON', async () => {
    const p = await expectProblem(
      await call('POST', '/v1/streams', { body: '{"name": ' }),
      400,
      'malformed-request',
    );
    expect(p.detail).toMatch(/json/i);
    const s = await createStream();
    await expectProblem(
      await call('PATCH', `/v1/streams/${s.id}`, { body: 'nope' }),
      400,
      'malformed-request',
    );
  });

  it('answers 415 for a body that is not JSON', async () => {
    await expectProblem(
      await call('POST', '/v1/streams', { body: 'name=x', contentType: 'application/x-www-form-urlencoded' }),
      415,
      'unsupported-media-type',
    );
    await expectProblem(
      await call('POST', '/v1/streams', { body: '{}', contentType: 'text/plain' }),
      415,
      'unsupported-media-type',
    );
    const s = await createStream();
    await expectProblem(
      await call('PATCH', `/v1/streams/${s.id}`, { body: '{}', contentType: null }),
      415,
      'unsupported-media-type',
    );
  });

  it('answers 413 for a body over 16 KiB, before parsing it', async () => {
    const json = { name: 'n', padding: 'x'.repeat(17 * 1024) };
    await expectProblem(await call('POST', '/v1/streams', { json }), 413, 'body-too-large');
    const s = await createStream();
    await expectProblem(await call('PATCH', `/v1/streams/${s.id}`, { json }), 413, 'body-too-large');
  });

  it('answers 401 without a bearer token or with a wrong one', async () => {
    for (const token of [null, 'wrong-token', INGEST_TOKEN]) {
      await expectProblem(await call('GET', '/v1/streams', { token }), 401, 'unauthorized');
      await expectProblem(await call('POST', '/v1/streams', { token, json: {} }), 401, 'unauthorized');
    }
    const res = await call('GET', '/v1/streams', { token: null });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edge-live"');
    const wrong = await call('GET', '/v1/streams', { token: 'wrong-token' });
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers 404 problem for unknown routes and 404 for unknown methods on known paths', async () => {
    await expectProblem(await call('GET', '/v1/nothing-here'), 404, 'not-found');
    await expectProblem(await call('PUT', '/v1/streams'), 404, 'not-found');
  });
});
