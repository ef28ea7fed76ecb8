import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STREAM_CONFIG, resolveConfig } from '../../../src/contract/stream-config.ts';
import { decodeCursor, encodeCursor } from '../../../src/registry/cursor.ts';
import { base32, generateStreamKey, hashStreamKey } from '../../../src/registry/ids.ts';
import { parseStoredConfig } from '../../../src/registry/record.ts';
import { registryStub } from '../../../src/registry/registry-do.ts';
import { call, createStream } from './client.ts';

describe('registry pure parts', () => {
  it('base32 encodes RFC 4648 test vectors (lower-cased, unpadded)', () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('my');
    expect(enc('fo')).toBe('mzxq');
    expect(enc('foobar')).toBe('mzxw6ytboi');
  });

  it('hashes keys to hex SHA-256 (FIPS 180-2 "abc" vector)', async () => {
    expect(await hashStreamKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(generateStreamKey()).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
  });

  it('round-trips cursors and rejects anything else', () => {
    const cursor = { createdAt: 1_767_225_600_123, id: 'st_abcdefghijklmnop' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const bad of ['', '!!!', 'abc', encodeCursor({ createdAt: 1, id: 'x' }).slice(0, -2) + '$$']) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });

  it('checks config ranges and the segment >= part rule against a base', () => {
    expect(resolveConfig(DEFAULT_STREAM_CONFIG, {})).toEqual({ ok: true, config: DEFAULT_STREAM_CONFIG });
    expect(resolveConfig(DEFAULT_STREAM_CONFIG, { partTarget: 1.5, segmentTarget: 1 })).toMatchObject({
      ok: false,
      field: 'segmentTarget',
    });
    expect(resolveConfig(DEFAULT_STREAM_CONFIG, { partTarget: Number.NaN })).toMatchObject({
      field: 'partTarget',
    });
    expect(parseStoredConfig('{"partTarget":0.5}')).toEqual({ ...DEFAULT_STREAM_CONFIG, partTarget: 0.5 });
    expect(parseStoredConfig('garbage')).toEqual(DEFAULT_STREAM_CONFIG);
  });
});

describe('StreamRegistry.setStatus', () => {
  async function status(id: string): Promise<string> {
    return ((await (await call('GET', `/v1/streams/${id}`)).json()) as { status: string }).status;
  }

  it('shows the status the stream object reports, ignoring stale reports and unknown ids', async () => {
    const s = await createStream();
    const registry = registryStub(env);
    await registry.setStatus(s.id, 'live', 2_000);
    expect(await status(s.id)).toBe('live');
    await registry.setStatus(s.id, 'idle', 1_000); // overtaken by the later 'live'
    expect(await status(s.id)).toBe('live');
    await registry.setStatus(s.id, 'ended', 3_000);
    expect(await status(s.id)).toBe('ended');
    await registry.setStatus('st_doesnotexist0000', 'live', 4_000);
    expect(await registry.get('st_doesnotexist0000')).toBeNull();
  });

  it('looks keys up by hash only, as the primary role', async () => {
    const s = await createStream({ srtPassphrase: 'ten chars!' });
    const registry = registryStub(env);
    expect(await registry.lookupKey(s.streamKey)).toBeNull();
    expect(await registry.lookupKey(await hashStreamKey(s.streamKey))).toEqual({
      streamId: s.id,
      role: 'primary',
      config: DEFAULT_STREAM_CONFIG,
      srtPassphrase: 'ten chars!',
    });
  });
});
