// Signed playback and the delivery tree (issue 16): the token is left out of every cache key, so all viewers
// of a stream share one cached copy whatever their tokens; a token's access rules (origins, address) hold
// on every request, and CORS reflects allowed origins; what the edge knows of the registry is kept per isolate
// for a bounded time, never fetched per viewer request.
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { edgeKeySet, KNOWLEDGE_MAX_AGE_MS } from '../../../src/access/edge-registry.ts';
import { partFlights } from '../../../src/api/playback-media.ts';
import { registryStub } from '../../../src/registry/registry-do.ts';
import { expectProblem } from '../api/client.ts';
import { onlyReplica } from '../support/fanout.ts';
import { ORIGIN } from '../support/media.ts';
import { createSigningKey, liveStream, mintToken, nowSeconds, signToken } from '../support/tokens.ts';

function view(path: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}${path}`, { headers });
}

const settle = () => new Promise((r) => setTimeout(r, 50)); // cache puts run in waitUntil

describe('signed playback through the delivery tree', () => {
  it('two different valid tokens share one cached part and one replica answer', async () => {
    const { id, eventId } = await liveStream('signed');
    const one = (await mintToken(id)).token;
    const two = (await mintToken(id, { expiresIn: 7200 })).token;
    expect(one).not.toBe(two);

    const flights = partFlights.calls;
    const first = await view(`/live/${one}/source/se_a/0.2.m4s`);
    expect(first.status).toBe(200);
    const bytes = new Uint8Array(await first.arrayBuffer());
    await settle();
    const second = await view(`/live/${two}/source/se_a/0.2.m4s`);
    expect(second.headers.get('cf-cache-status')).toBe('HIT');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes);
    expect(partFlights.calls - flights).toBe(1); // one R2 read for both tokens
    // Its one entry is under the stream id, none under either token.
    expect(await caches.default.match(`${ORIGIN}/live/${id}/source/se_a/0.2.m4s`)).toBeDefined();
    expect(await caches.default.match(`${ORIGIN}/live/${one}/source/se_a/0.2.m4s`)).toBeUndefined();

    // A blocking playlist answer: the second token's request is a cache hit, no replica call.
    const blocking = (token: string) => view(`/live/${token}/source/${eventId}.m3u8?_HLS_msn=1&_HLS_part=0`);
    const a = await blocking(one);
    expect(a.status).toBe(200);
    const text = await a.text();
    const replica = await onlyReplica(id);
    await settle();
    const calls = (await replica.stats()).viewCalls;
    const b = await blocking(two);
    expect(b.headers.get('age')).toMatch(/^[0-9]+$/); // rebuilt from the edge cache
    expect(await b.text()).toBe(text);
    expect((await replica.stats()).viewCalls).toBe(calls);
  });

  it('allowedOrigins: only those pages play, and CORS reflects the page origin instead of *', async () => {
    const { id } = await liveStream('signed', 3);
    const site = 'https://site.example';
    const { token } = await mintToken(id, { rules: { allowedOrigins: [site, 'https://other.example'] } });
    const path = `/live/${token}/source/se_a/init.mp4`;

    const allowed = await view(path, { origin: site });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(site);
    expect(allowed.headers.get('vary')).toContain('Origin');
    await allowed.arrayBuffer();
    // A cache hit carries the same per-request CORS answer.
    await settle();
    const hit = await view(path, { origin: 'https://other.example' });
    expect(hit.headers.get('access-control-allow-origin')).toBe('https://other.example');
    await hit.arrayBuffer();
    // Same-origin pages send no Origin on GET; their Referer names the page.
    const referred = await view(path, { referer: `${site}/watch?v=1` });
    expect(referred.status).toBe(200);
    expect(referred.headers.get('access-control-allow-origin')).toBeNull();
    await referred.arrayBuffer();

    const refused: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { referer: 'https://evil.example/x' },
      {},
    ];
    for (const headers of refused) {
      const res = await view(path, headers);
      expect(res.headers.get('cache-control')).toBe('no-store');
      await expectProblem(res, 403, 'playback-forbidden');
    }
    // A public stream's plain URL keeps `*`, without Vary: Origin.
    const open = await liveStream('public', 3);
    const plain = await view(`/live/${open.id}/source/se_a/init.mp4`, { origin: 'https://evil.example' });
    expect(plain.headers.get('access-control-allow-origin')).toBe('*');
    expect(plain.headers.get('vary') ?? '').not.toContain('Origin');
    await plain.arrayBuffer();
  });

  it('an ip rule binds the token to one client address', async () => {
    const { id } = await liveStream('signed', 3);
    const { token } = await mintToken(id, { rules: { ip: '203.0.113.7' } });
    const path = `/live/${token}/master.m3u8`;
    expect((await view(path, { 'cf-connecting-ip': '203.0.113.7' })).status).toBe(200);
    await expectProblem(await view(path, { 'cf-connecting-ip': '198.51.100.1' }), 403, 'playback-forbidden');
    await expectProblem(
      await SELF.fetch(`${ORIGIN}/v1/streams/${id}/playback-tokens`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-api-token', 'content-type': 'application/json' },
        body: JSON.stringify({ rules: { country: 'germany' } }),
      }),
      422,
      'validation-failed',
    );
  });

  it("keeps the registry's answers per isolate: a viewer request does not ask the registry", async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey();
    const token = await signToken(key, { sub: id, exp: nowSeconds() + 600 });
    expect((await view(`/live/${token}/master.m3u8`)).status).toBe(200);
    // Revoked behind the API's back (as another isolate would): this isolate keeps its key set until it ages
    // out (src/access/edge-registry.ts, at most 9 s), so the next requests are answered without a registry call.
    expect(await registryStub(env).revokeSigningKey(key.id)).toBe(true);
    for (let i = 0; i < 3; i++) expect((await view(`/live/${token}/master.m3u8`)).status).toBe(200);
    // Once the bound has passed, the isolate's next look at the key set reloads it and the token is refused.
    await edgeKeySet(env, Date.now() + KNOWLEDGE_MAX_AGE_MS);
    await expectProblem(await view(`/live/${token}/master.m3u8`), 401, 'signing-key-revoked');
  });
});
