/**
 * SRT encryption (draft-sharabayko-srt-01 §6; libsrt haicrypt): the sender's stream encrypting keys (SEK)
 * travel in a Key Material message wrapped with a key encrypting key (KEK) derived from the passphrase;
 * payloads are AES-CTR encrypted with an IV built from the salt and the packet sequence number.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync } from 'node:crypto';

/** PBKDF2 parameters (draft §6.1.4): HMAC-SHA1, 2048 iterations, salt = the last 64 bits of the KM salt. */
const PBKDF2_ITERATIONS = 2048;
const PBKDF2_SALT_BYTES = 8;

export function deriveKek(passphrase: string, salt: Uint8Array, keyBytes: number): Uint8Array {
  const pbkdfSalt = salt.subarray(salt.byteLength - PBKDF2_SALT_BYTES);
  return new Uint8Array(
    pbkdf2Sync(Buffer.from(passphrase, 'utf8'), pbkdfSalt, PBKDF2_ITERATIONS, keyBytes, 'sha1'),
  );
}

function ecbCipherName(keyBytes: number): string {
  return `aes-${keyBytes * 8}-ecb`;
}

/** RFC 3394 §2.2.1 default initial value. */
const RFC3394_IV = new Uint8Array([0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6]);

function aesBlock(kek: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
  const make = decrypt ? createDecipheriv : createCipheriv;
  const c = make(ecbCipherName(kek.byteLength), kek, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

function xorCounter(a: Uint8Array, t: number): void {
  // A ^ t where t is a 64-bit big-endian counter (RFC 3394 §2.2.1); t stays far below 2^32 here.
  for (let i = 0; i < 4; i++) a[7 - i] = (a[7 - i] ?? 0) ^ ((t >>> (8 * i)) & 0xff);
}

/** RFC 3394 §2.2.1 key wrap. `plain` is a multiple of 8 bytes, at least 16. */
export function aesKeyWrap(kek: Uint8Array, plain: Uint8Array): Uint8Array {
  const n = plain.byteLength / 8;
  const a = RFC3394_IV.slice();
  const r = Array.from({ length: n }, (_, i) => plain.slice(i * 8, i * 8 + 8));
  const buf = new Uint8Array(16);
  for (let j = 0; j <= 5; j++) {
    for (let i = 0; i < n; i++) {
      buf.set(a, 0);
      buf.set(r[i] ?? new Uint8Array(8), 8);
      const b = aesBlock(kek, buf, false);
      a.set(b.subarray(0, 8));
      xorCounter(a, n * j + i + 1);
      r[i] = b.slice(8);
    }
  }
  const out = new Uint8Array(8 + plain.byteLength);
  out.set(a, 0);
  r.forEach((block, i) => {
    out.set(block, 8 + i * 8);
  });
  return out;
}

/** RFC 3394 §2.2.2 key unwrap; `undefined` when the integrity check fails (a wrong passphrase). */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array | undefined {
  if (wrapped.byteLength < 24 || wrapped.byteLength % 8 !== 0) return undefined;
  const n = wrapped.byteLength / 8 - 1;
  const a = wrapped.slice(0, 8);
  const r = Array.from({ length: n }, (_, i) => wrapped.slice(8 + i * 8, 16 + i * 8));
  const buf = new Uint8Array(16);
  for (let j = 5; j >= 0; j--) {
    for (let i = n - 1; i >= 0; i--) {
      xorCounter(a, n * j + i + 1);
      buf.set(a, 0);
      buf.set(r[i] ?? new Uint8Array(8), 8);
      const b = aesBlock(kek, buf, true);
      a.set(b.subarray(0, 8));
      r[i] = b.slice(8);
    }
  }
  for (let i = 0; i < 8; i++) if (a[i] !== RFC3394_IV[i]) return undefined;
  const out = new Uint8Array(n * 8);
  r.forEach((block, i) => {
    out.set(block, i * 8);
  });
  return out;
}

/**
 * AES-CTR IV (libsrt haicrypt hcrypt_SetCtrIV): 16 zero bytes, the 32-bit packet index (the sequence number)
 * at bytes 10..13, then the first 112 bits XORed with the salt; the last 16 bits are the block counter.
 */
export function ctrIv(salt: Uint8Array, seq: number): Uint8Array {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(10, seq >>> 0);
  for (let i = 0; i < 14; i++) iv[i] = (iv[i] ?? 0) ^ (salt[i] ?? 0);
  return iv;
}

/** AES-CTR is symmetric: the same call encrypts and decrypts. */
export function aesCtr(key: Uint8Array, salt: Uint8Array, seq: number, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.byteLength * 8}-ctr`, key, ctrIv(salt, seq));
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}
