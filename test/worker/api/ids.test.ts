import { expect, it } from 'vitest';
import { hashStreamKey, hex } from '../../../src/registry/ids.ts';

it('writes bytes as two lower-case hex digits each', () => {
  expect(hex(new Uint8Array([]))).toBe('');
  expect(hex(new Uint8Array([0, 1, 0x0f, 0x10, 0xab, 0xff]))).toBe('00010f10abff');
  const all = Uint8Array.from({ length: 256 }, (_, n) => n);
  expect(hex(all)).toBe([...all].map((n) => n.toString(16).padStart(2, '0')).join(''));
});

it('hashes a stream key to the hex SHA-256 (FIPS 180-2 vector)', async () => {
  expect(await hashStreamKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
