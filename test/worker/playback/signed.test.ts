// Signed playback (issue 16): a signed stream answers every viewer route only with a valid token in place of
// the stream id, and each way a token can be wrong is its own clear, uncached problem+json.
import { SELF } from 'cloudflare:test';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { CLOCK_LEEWAY_SECONDS, PLAYBACK_TOKEN_MAX_CHARS } from '../../../src/access/claims.ts';
import { ORIGIN as API_ORIGIN, call, expectProblem } from '../api/client.ts';
import { bodyText, fixtureInit, ORIGIN } from '../support/media.ts';
import {
  base64url,
  createSigningKey,
  liveStream,
  mintToken,
  nowSeconds,
  signToken,
  viewerPaths,
} from '../support/tokens.ts';

function view(path: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}${path}`, { headers });
}

/** A refusal: problem+json of `type`, never cacheable, and its body does not echo the token. */
async function expectRefused(res: Response, status: number, type: string, token?: string) {
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  const body = await expectProblem(res, status, type);
  if (token) expect(JSON.stringify(body)).not.toContain(token.split('.')[2]);
  return body;
}

describe('signed playback', () => {
  it('refuses every viewer route of a signed stream without a token, and plays all of them with one', async () => {
    const { id, eventId } = await liveStream('signed');
    for (const path of viewerPaths(id, eventId)) {
      await expectRefused(await view(path), 401, 'playback-token-required');
    }
    const beacon = await SELF.fetch(`${ORIGIN}/live/${id}/qoe`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ session: 'viewer-0001', events: [{ type: 'startup', ms: 900 }] }),
    });
    await expectRefused(beacon, 401, 'playback-token-required');

    const { token, playback } = await mintToken(id, { expiresIn: 3600 });
    expect(playback.hls).toBe(`${API_ORIGIN}/live/${token}/master.m3u8`);
    expect(playback.player).toBe(`${API_ORIGIN}/play/${id}?token=${token}`);
    for (const path of viewerPaths(token, eventId)) {
      const res = await view(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      await res.arrayBuffer();
    }
    // The multivariant's relative URIs resolve under the token: players need no rewriting.
    const master = await bodyText(await view(`/live/${token}/master.m3u8`));
    expect(master).toContain(`source/${eventId}.m3u8`);
    const signedBeacon = await SELF.fetch(`${ORIGIN}/live/${token}/qoe`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ session: 'viewer-0001', events: [{ type: 'startup', ms: 900 }] }),
    });
    expect(signedBeacon.status).toBe(204);
  });

  it('never answers a tokenless request from what a token request put in the edge cache', async () => {
    const { id, eventId } = await liveStream('signed');
    const { token } = await mintToken(id);
    const part = await view(`/live/${token}/source/se_a/0.1.m4s`);
    expect(part.status).toBe(200);
    await part.arrayBuffer();
    const blocking = await view(`/live/${token}/source/${eventId}.m3u8?_HLS_msn=1&_HLS_part=1`);
    expect(blocking.status).toBe(200);
    await blocking.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50)); // the puts run in waitUntil
    // The entries exist under the stream id's canonical keys...
    expect(await caches.default.match(`${ORIGIN}/live/${id}/source/se_a/0.1.m4s`)).toBeDefined();
    // ...and the same paths without a token are refused before the cache is asked.
    await expectRefused(await view(`/live/${id}/source/se_a/0.1.m4s`), 401, 'playback-token-required');
    await expectRefused(
      await view(`/live/${id}/source/${eventId}.m3u8?_HLS_msn=1&_HLS_part=1`),
      401,
      'playback-token-required',
    );
  });

  it('leaves nothing in the edge cache from a refused request', async () => {
    const { id } = await liveStream('signed');
    const key = await createSigningKey();
    const expired = await signToken(key, { sub: id, exp: nowSeconds() - 3600 });
    for (const segment of [id, expired]) {
      const res = await view(`/live/${segment}/source/se_a/0.3.m4s`);
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(await caches.default.match(`${ORIGIN}/live/${id}/source/se_a/0.3.m4s`)).toBeUndefined();
    expect(await caches.default.match(`${ORIGIN}/live/${expired}/source/se_a/0.3.m4s`)).toBeUndefined();
  });

  it('refuses expired and not-yet-valid tokens beyond the clock leeway, and accepts skew within it', async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey();
    const t = nowSeconds();
    const cases: [string, Record<string, number>, number, string?][] = [
      ['expired', { exp: t - CLOCK_LEEWAY_SECONDS - 30 }, 401, 'token-expired'],
      ['expired within leeway', { exp: t - 5 }, 200],
      [
        'nbf ahead beyond leeway',
        { exp: t + 600, nbf: t + CLOCK_LEEWAY_SECONDS + 60 },
        401,
        'token-not-yet-valid',
      ],
      ['nbf ahead within leeway', { exp: t + 600, nbf: t + 10 }, 200],
      [
        'iat ahead beyond leeway',
        { exp: t + 600, iat: t + CLOCK_LEEWAY_SECONDS + 60 },
        401,
        'token-not-yet-valid',
      ],
    ];
    for (const [name, times, status, type] of cases) {
      const token = await signToken(key, { sub: id, ...times });
      const res = await view(`/live/${token}/source/se_a/init.mp4`);
      if (type) await expectRefused(res, status, type, token);
      else {
        expect(res.status, name).toBe(status);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(fixtureInit);
      }
    }
  });

  it('refuses a wrong, unknown or revoked key, a tampered signature, alg none and HMAC', async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey();
    const claims = { sub: id, exp: nowSeconds() + 600 };
    const good = await signToken(key, claims);
    expect((await view(`/live/${good}/master.m3u8`)).status).toBe(200);

    // Signed by a key pair the service never saw, under a known kid.
    const stranger = await generateKeyPair('RS256', { extractable: true });
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.id })
      .sign(stranger.privateKey);
    await expectRefused(await view(`/live/${forged}/master.m3u8`), 401, 'bad-token-signature', forged);

    // A signature byte changed; a claim changed under the old signature.
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    await expectRefused(await view(`/live/${h}.${p}.${flipped}/master.m3u8`), 401, 'bad-token-signature');
    const otherClaims = base64url(JSON.stringify({ ...claims, exp: claims.exp + 86_400 }));
    await expectRefused(await view(`/live/${h}.${otherClaims}.${s}/master.m3u8`), 401, 'bad-token-signature');

    // alg none (an empty signature) and HS256 with the public key as the secret: refused by algorithm.
    const none = `${base64url(JSON.stringify({ alg: 'none', kid: key.id }))}.${base64url(JSON.stringify(claims))}.`;
    const noneBody = await expectRefused(
      await view(`/live/${none}/master.m3u8`),
      401,
      'token-algorithm-refused',
    );
    expect(noneBody.detail).toContain('"none"');
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: key.id })
      .sign(new TextEncoder().encode(JSON.stringify(key.publicKey)));
    await expectRefused(await view(`/live/${hmac}/master.m3u8`), 401, 'token-algorithm-refused');

    // An unknown kid; then the key revoked: its tokens fail, and it is gone from the list.
    const unknown = await signToken(key, claims, { kid: 'key_aaaaaaaaaaaaaaaa' });
    await expectRefused(await view(`/live/${unknown}/master.m3u8`), 401, 'unknown-signing-key');
    expect((await call('DELETE', `/v1/signing-keys/${key.id}`)).status).toBe(204);
    await expectRefused(await view(`/live/${good}/master.m3u8`), 401, 'signing-key-revoked', good);
    const list = (await (await call('GET', '/v1/signing-keys')).json()) as { signingKeys: { id: string }[] };
    expect(list.signingKeys.map((k) => k.id)).not.toContain(key.id);
    await expectProblem(await call('DELETE', `/v1/signing-keys/${key.id}`), 404, 'signing-key-not-found');
  });

  it('plays ES256 tokens from a customer key', async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey('ES256');
    expect(key.privateKey.pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const token = await signToken(key, { sub: id, exp: nowSeconds() + 600 });
    expect((await view(`/live/${token}/source/se_a/init.mp4`)).status).toBe(200);
  });

  it('refuses malformed and oversized tokens with a 4xx that says why', async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey();
    await expectRefused(await view('/live/not.a-jwt/master.m3u8'), 400, 'malformed-token');
    await expectRefused(await view('/live/e30.e30.e30/master.m3u8'), 400, 'malformed-token'); // {} header: no alg
    const notJson = `${base64url('{"alg":"RS256"')}.e30.abc`;
    await expectRefused(await view(`/live/${notJson}/master.m3u8`), 400, 'malformed-token');
    const noKid = `${base64url('{"alg":"RS256"}')}.e30.abc`;
    await expectRefused(await view(`/live/${noKid}/master.m3u8`), 400, 'malformed-token');
    const noExp = await signToken(key, { sub: id });
    const body = await expectRefused(await view(`/live/${noExp}/master.m3u8`), 400, 'malformed-token');
    expect(body.detail).toContain('exp');
    const padding = 'A'.repeat(PLAYBACK_TOKEN_MAX_CHARS);
    const huge = await signToken(key, { sub: id, exp: nowSeconds() + 600, pad: padding });
    await expectRefused(await view(`/live/${huge}/master.m3u8`), 414, 'token-too-long');
    // A token for no stream id at all.
    const badSub = await signToken(key, { sub: 'no such/stream', exp: nowSeconds() + 600 });
    await expectRefused(await view(`/live/${badSub}/master.m3u8`), 403, 'token-subject-invalid');
  });

  it("a token plays its own stream only: another stream's media is not reachable under it", async () => {
    const a = await liveStream('signed', 3);
    const b = await liveStream('signed', 3);
    const { token } = await mintToken(a.id);
    // The token's sub names the stream; B's session id under A's token reads A's (absent) objects.
    const res = await view(`/live/${token}/source/se_b/init.mp4`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    const own = await view(`/live/${token}/source/se_a/init.mp4`);
    expect(own.status).toBe(200);
    await own.arrayBuffer();
    // B refuses A's stream id and plays only with its own token.
    await expectRefused(await view(`/live/${b.id}/master.m3u8`), 401, 'playback-token-required');
  });

  it('refuses every token issued before revoke-tokens, and plays tokens minted after it', async () => {
    const { id } = await liveStream('signed', 3);
    const key = await createSigningKey();
    const before = (await mintToken(id)).token;
    const selfSigned = await signToken(key, { sub: id, exp: nowSeconds() + 600, iat: nowSeconds() - 5 });
    expect((await view(`/live/${before}/master.m3u8`)).status).toBe(200);
    const res = await call('POST', `/v1/streams/${id}/revoke-tokens`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { generation: number }).generation).toBe(1);
    await expectRefused(await view(`/live/${before}/master.m3u8`), 401, 'token-revoked');
    await expectRefused(await view(`/live/${selfSigned}/master.m3u8`), 401, 'token-revoked');
    const after = (await mintToken(id)).token;
    expect((await view(`/live/${after}/master.m3u8`)).status).toBe(200);
    const later = await signToken(key, { sub: id, exp: nowSeconds() + 600, iat: nowSeconds() + 2 });
    expect((await view(`/live/${later}/master.m3u8`)).status).toBe(200);
    await expectProblem(
      await call('POST', '/v1/streams/st_aaaaaaaaaaaaaaaa/revoke-tokens'),
      404,
      'stream-not-found',
    );
  });

  it('keeps the token out of problem bodies, also for a path no route serves', async () => {
    const { id } = await liveStream('signed', 3);
    const { token } = await mintToken(id);
    const res = await view(`/live/${token}/source/se_a/x/y/z.mp4`);
    const body = await expectProblem(res, 404, 'not-found');
    expect(JSON.stringify(body)).not.toContain(token.split('.')[2]);
    expect(body.instance).toBe('/live/{token}/source/se_a/x/y/z.mp4');
  });

  it('applies a policy change at once', async () => {
    const { id } = await liveStream('public', 3);
    expect((await view(`/live/${id}/master.m3u8`)).status).toBe(200);
    expect((await call('PATCH', `/v1/streams/${id}`, { json: { playbackPolicy: 'signed' } })).status).toBe(
      200,
    );
    await expectRefused(await view(`/live/${id}/master.m3u8`), 401, 'playback-token-required');
    expect((await call('PATCH', `/v1/streams/${id}`, { json: { playbackPolicy: 'public' } })).status).toBe(
      200,
    );
    expect((await view(`/live/${id}/master.m3u8`)).status).toBe(200);
  });
});
