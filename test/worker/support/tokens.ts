/**
 * Test support for signed playback (issue 16): a signed stream that is live with the committed fixtures,
 * signing keys made through the real API, and tokens signed the way a customer's own signer would (jose).
 */
import { importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { expect } from 'vitest';
import { call, createStream } from '../api/client.ts';
import { fixtureParts, putInit, putParts, startSession } from './media.ts';

export interface SigningKey {
  id: string;
  algorithm: 'RS256' | 'ES256';
  privateKey: { pem: string; jwk: JWK };
  publicKey: JWK;
}

export async function createSigningKey(algorithm?: 'RS256' | 'ES256'): Promise<SigningKey> {
  const res = await call('POST', '/v1/signing-keys', algorithm ? { json: { algorithm } } : {});
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as SigningKey;
}

/** Seconds since the epoch. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token signed with `key` (header kid = the key's id unless `kid` says otherwise). */
export async function signToken(
  key: SigningKey,
  claims: JWTPayload & Record<string, unknown>,
  header: { kid?: string } = {},
): Promise<string> {
  const privateKey = await importJWK(key.privateKey.jwk, key.algorithm);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.algorithm, kid: header.kid ?? key.id })
    .sign(privateKey);
}

export function base64url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A stream created through the API with `playbackPolicy`, publishing the fixtures as session `se_a`. */
export async function liveStream(playbackPolicy: 'public' | 'signed', parts = 7) {
  const stream = await createStream({ playbackPolicy, partTarget: 0.2, segmentTarget: 1 });
  const started = await startSession(stream.id, 'se_a', {
    partTarget: 0.2,
    segmentTarget: 1,
    reconnectWindow: 10,
  });
  expect((await putInit(stream.id, 'se_a')).status).toBe(201);
  await putParts(stream.id, 'se_a', fixtureParts.slice(0, parts));
  return { id: stream.id, eventId: started.eventId };
}

/** Every viewer path of a live stream (multivariant, media playlist, init, part, segment), under `segment`. */
export function viewerPaths(segment: string, eventId: string): string[] {
  return [
    `/live/${segment}/master.m3u8`,
    `/live/${segment}/source/${eventId}.m3u8`,
    `/live/${segment}/source/index.m3u8`,
    `/live/${segment}/source/se_a/init.mp4`,
    `/live/${segment}/source/se_a/0.1.m4s`,
    `/live/${segment}/source/se_a/0.m4s`,
  ];
}

export async function mintToken(streamId: string, json: unknown = {}) {
  const res = await call('POST', `/v1/streams/${streamId}/playback-tokens`, { json });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as { token: string; expiresAt: string; playback: { hls: string; player: string } };
}
