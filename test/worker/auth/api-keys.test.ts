// API keys with scopes (issue 16): every /v1 route names the scope it needs and refuses a key without it with
// a 403 problem naming the scope; a key never makes a wider key; revocation takes effect within the bound.
import { describe, expect, it } from 'vitest';
import { LookupCache } from '../../../src/auth/lookup-cache.ts';
import { SCOPES, type Scope } from '../../../src/auth/scopes.ts';
import { call, createStream, expectProblem } from '../api/client.ts';

interface CreatedKey {
  id: string;
  name: string;
  scopes: Scope[];
  secret: string;
  createdAt: string;
}

async function makeKey(scopes: Scope[], token?: string): Promise<CreatedKey> {
  const res = await call('POST', '/v1/api-keys', {
    json: { name: `key ${scopes.join(' ')}`, scopes },
    token,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as CreatedKey;
}

const STREAM = 'st_aaaaaaaaaaaaaaaa';

/** Every route of this branch, with the one scope it needs. */
const ROUTES: [method: string, path: string, scope: Scope, json?: unknown][] = [
  ['GET', '/v1/streams', 'streams:read'],
  ['GET', `/v1/streams/${STREAM}`, 'streams:read'],
  ['GET', `/v1/streams/${STREAM}/health`, 'streams:read'],
  ['POST', '/v1/streams', 'streams:write', {}],
  ['PATCH', `/v1/streams/${STREAM}`, 'streams:write', { name: 'x' }],
  ['DELETE', `/v1/streams/${STREAM}`, 'streams:write'],
  ['POST', `/v1/streams/${STREAM}/rotate-key`, 'streams:write'],
  ['GET', '/v1/webhooks', 'webhooks:write'],
  ['POST', '/v1/webhooks', 'webhooks:write', { url: 'https://example.com/hook' }],
  ['DELETE', '/v1/webhooks/wh_00', 'webhooks:write'],
  ['GET', '/v1/webhooks/wh_00/deliveries', 'webhooks:write'],
  ['GET', '/v1/api-keys', 'keys:write'],
  ['POST', '/v1/api-keys', 'keys:write', { name: 'n', scopes: ['streams:read'] }],
  ['DELETE', '/v1/api-keys/key_aaaaaaaaaaaaaaaa', 'keys:write'],
  ['GET', '/v1/relays', 'keys:write'],
  ['POST', '/v1/relays', 'keys:write', { name: 'n' }],
  ['DELETE', '/v1/relays/rl_aaaaaaaaaaaaaaaa', 'keys:write'],
  ['GET', '/v1/metrics', 'metrics:read'],
];

describe('API keys', () => {
  it('refuse every route whose scope the key lacks, with a 403 naming the scope, and allow it with the scope', async () => {
    const all = await makeKey([...SCOPES]);
    for (const [method, path, scope, json] of ROUTES) {
      const without = await makeKey(SCOPES.filter((s) => s !== scope));
      const problem = await expectProblem(
        await call(method, path, { json, token: without.secret }),
        403,
        'missing-scope',
      );
      expect(problem.detail, `${method} ${path}`).toContain(scope);
      expect((problem as unknown as { scope: string }).scope).toBe(scope);
      // With every scope the same request gets past the check (to its own 2xx or 404).
      const res = await call(method, path, { json, token: all.secret });
      expect(res.status, `${method} ${path} ${await res.clone().text()}`).not.toBe(403);
      expect(res.status).not.toBe(401);
      await res.body?.cancel();
    }
  });

  it('lets a read-only key read streams and nothing else', async () => {
    const stream = await createStream({ name: 'for the teammate' });
    const reader = await makeKey(['streams:read']);
    const got = await call('GET', `/v1/streams/${stream.id}`, { token: reader.secret });
    expect(got.status).toBe(200);
    expect(await got.text()).not.toContain(stream.streamKey);
    await expectProblem(
      await call('PATCH', `/v1/streams/${stream.id}`, { json: { name: 'x' }, token: reader.secret }),
      403,
      'missing-scope',
    );
  });

  it('show the secret once, list without it, and tell a key its own scopes', async () => {
    const key = await makeKey(['streams:read', 'metrics:read']);
    expect(key.secret).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(key.scopes).toEqual(['streams:read', 'metrics:read']);
    const listed = await (await call('GET', '/v1/api-keys')).text();
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(key.secret);
    const self = await (await call('GET', '/v1/api-keys/self', { token: key.secret })).json();
    expect(self).toEqual({
      id: key.id,
      name: key.name,
      kind: 'api-key',
      scopes: ['streams:read', 'metrics:read'],
    });
    const admin = (await (await call('GET', '/v1/api-keys/self')).json()) as {
      kind: string;
      scopes: string[];
    };
    expect(admin).toMatchObject({ kind: 'admin', scopes: [...SCOPES] });
  });

  it('never make a key wider than the caller (403 naming the scopes it lacks)', async () => {
    const keyAdmin = await makeKey(['keys:write', 'streams:read']);
    const narrower = await makeKey(['streams:read'], keyAdmin.secret);
    expect(narrower.scopes).toEqual(['streams:read']);
    const problem = await expectProblem(
      await call('POST', '/v1/api-keys', {
        json: { name: 'wider', scopes: ['streams:read', 'streams:write'] },
        token: keyAdmin.secret,
      }),
      403,
      'scope-escalation',
    );
    expect(problem.detail).toContain('streams:write');
  });

  it('answer 422 naming an unknown scope, and 422 for an empty list or a missing name', async () => {
    const problem = await expectProblem(
      await call('POST', '/v1/api-keys', { json: { name: 'n', scopes: ['streams:read', 'streams:admin'] } }),
      422,
      'unknown-scope',
    );
    expect(problem.detail).toContain('streams:admin');
    expect(problem.errors?.[0]).toEqual({ field: 'scopes', message: 'unknown scope streams:admin' });
    await expectProblem(
      await call('POST', '/v1/api-keys', { json: { name: 'n', scopes: [] } }),
      422,
      'validation-failed',
    );
    await expectProblem(
      await call('POST', '/v1/api-keys', { json: { scopes: ['streams:read'] } }),
      422,
      'validation-failed',
    );
  });

  it('stop working once revoked (at once in the revoking isolate), and 401 an unknown or malformed key', async () => {
    const key = await makeKey(['streams:read']);
    expect((await call('GET', '/v1/streams', { token: key.secret })).status).toBe(200);
    expect((await call('DELETE', `/v1/api-keys/${key.id}`)).status).toBe(204);
    await expectProblem(await call('GET', '/v1/streams', { token: key.secret }), 401, 'unauthorized');
    await expectProblem(await call('DELETE', `/v1/api-keys/${key.id}`), 404, 'api-key-not-found');
    await expectProblem(
      await call('GET', '/v1/streams', { token: `ak_${'x'.repeat(43)}` }),
      401,
      'unauthorized',
    );
    await expectProblem(await call('GET', '/v1/streams', { token: 'not-a-key' }), 401, 'unauthorized');
  });
});

describe('LookupCache (the per-isolate bound on a revoked key)', () => {
  it('answers from memory until the bound, then asks again', () => {
    const cache = new LookupCache<string>(5_000, 2);
    cache.set('a', 'A', 1_000);
    expect(cache.get('a', 5_999)).toBe('A');
    expect(cache.get('a', 6_000)).toBeUndefined();
    cache.set('a', 'A', 10_000);
    cache.set('b', 'B', 10_000);
    cache.set('c', 'C', 10_000);
    // Bounded: the oldest entry made room.
    expect(cache.get('a', 10_001)).toBeUndefined();
    expect(cache.get('c', 10_001)).toBe('C');
    cache.evict((v) => v === 'C');
    expect(cache.get('c', 10_001)).toBeUndefined();
  });
});

describe('every documented operation checks a scope', () => {
  it('refuses a key holding every scope but its own: 403 naming the scope it documents', async () => {
    const doc = (await (await call('GET', '/v1/openapi.json', { token: null })).json()) as {
      paths: Record<string, Record<string, { operationId: string; description?: string }>>;
    };
    const examples: Record<string, string> = { id: 'aaaaaaaaaaaaaaaa' };
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        if (op.operationId === 'getApiKeySelf') continue;
        const scope = /^Scope: `([a-z]+:[a-z]+)`/.exec(op.description ?? '')?.[1];
        expect(scope, `${op.operationId} documents its scope`).toBeDefined();
        expect(SCOPES).toContain(scope);
        const url = `/v1${path.replace(/\{(\w+)\}/g, (_m, name: string) => examples[name] ?? 'x')}`;
        const json = method === 'get' ? undefined : {};
        // Every scope but the documented one: that one alone must be what the operation checks.
        const without = await makeKey(SCOPES.filter((s) => s !== scope));
        const res = await call(method.toUpperCase(), url, { json, token: without.secret });
        const problem = await expectProblem(res, 403, 'missing-scope');
        expect(problem.detail, op.operationId).toContain(scope);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(17);
  });
});
