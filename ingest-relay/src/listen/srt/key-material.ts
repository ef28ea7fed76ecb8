/**
 * Key Material message (draft-sharabayko-srt-01 §3.2.2 Figure 9), carried in the KMREQ/KMRSP handshake
 * extensions and in KMREQ user-defined control packets (key refresh):
 *
 *   S (1) V (3) PT (4) | Sign (16) = 0x2029 | Resv (6) KK (2) | KEKI (32)
 *   Cipher (8) Auth (8) SE (8) Resv1 (8) | Resv2 (16) SLen/4 (8) KLen/4 (8) | Salt | Wrapped keys
 */
import { ByteReader, malformed, type Parsed, parsed } from '../../codec/bytes.ts';
import { aesKeyUnwrap, deriveKek } from './crypto.ts';

export const KM_SIGN = 0x2029;
/** Cipher 2: AES-CTR (the only one libsrt live mode uses by default). */
export const KM_CIPHER_AES_CTR = 2;

export interface KeyMaterial {
  /** Bit 0: even key present, bit 1: odd key present. */
  keyFlags: number;
  cipher: number;
  salt: Uint8Array;
  keyBytes: number;
  wrapped: Uint8Array;
}

export function parseKeyMaterial(msg: Uint8Array): Parsed<KeyMaterial> {
  const r = new ByteReader(msg);
  const head = r.u8();
  const sign = r.u16();
  const keyFlags = r.u8() & 3;
  r.skip(4); // KEKI: 0 = the default passphrase-derived KEK
  const cipher = r.u8();
  r.skip(5); // Auth, SE, Resv1, Resv2
  const saltBytes = r.u8() * 4;
  const keyBytes = r.u8() * 4;
  if (r.error) return malformed('key material shorter than its header');
  if (head >>> 4 !== 1 || (head & 0xf) !== 2 || sign !== KM_SIGN)
    return malformed('not a key material message');
  if (keyFlags === 0) return malformed('key material without keys');
  if (![16, 24, 32].includes(keyBytes)) return malformed(`unsupported key length ${keyBytes}`);
  if (cipher !== KM_CIPHER_AES_CTR) return malformed(`unsupported cipher ${cipher}`);
  const salt = r.bytes(saltBytes);
  const keyCount = keyFlags === 3 ? 2 : 1;
  const wrapped = r.bytes(8 + keyCount * keyBytes);
  if (r.error) return malformed('key material truncated');
  return parsed({ keyFlags, cipher, salt: salt.slice(), keyBytes, wrapped: wrapped.slice() });
}

/** Decrypting keys for one salt; a packet's KK bits pick even or odd. */
export interface StreamKeys {
  salt: Uint8Array;
  even: Uint8Array | undefined;
  odd: Uint8Array | undefined;
}

/** Unwraps the keys with the passphrase; `undefined` when the passphrase is wrong (RFC 3394 check fails). */
export function unwrapKeys(km: KeyMaterial, passphrase: string): StreamKeys | undefined {
  const kek = deriveKek(passphrase, km.salt, km.keyBytes);
  const keys = aesKeyUnwrap(kek, km.wrapped);
  if (keys === undefined) return undefined;
  // With both keys present the even key comes first (draft §3.2.2).
  const first = keys.slice(0, km.keyBytes);
  const second = keys.slice(km.keyBytes, 2 * km.keyBytes);
  if (km.keyFlags === 3) return { salt: km.salt, even: first, odd: second };
  if (km.keyFlags === 1) return { salt: km.salt, even: first, odd: undefined };
  return { salt: km.salt, even: undefined, odd: first };
}
