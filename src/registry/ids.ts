/**
 * Identifiers and secrets of the stream catalogue. Ids are public (they appear in playback URLs); stream keys
 * are secrets (they authorize a publish) and are looked up only by their SHA-256, never logged.
 */
import { sessionIdPrefix } from '../media/keys.ts';

/** RFC 4648 base32 alphabet, lower-cased: ids stay readable, path-safe and case-insensitive-store safe. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 10 random bytes = 80 bits = exactly 16 base32 characters. */
const ID_BYTES = 10;
/** 32 random bytes = 256 bits, far above the 128 bits a guessable-secret needs. */
const KEY_BYTES = 32;

export const STREAM_ID_PATTERN = /^st_[a-z2-7]{16}$/;
export const STREAM_KEY_PATTERN = /^sk_[A-Za-z0-9_-]{43}$/;

export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** RFC 4648 section 5 base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export function generateStreamId(): string {
  return `st_${base32(randomBytes(ID_BYTES))}`;
}

/** A session id names its retention class (`se_d30_…`, src/media/keys.ts): its R2 keys lead with it. */
export function generateSessionId(retentionDays: number): string {
  return `${sessionIdPrefix(retentionDays)}${base32(randomBytes(ID_BYTES))}`;
}

/** An event's id (an event runs from a first publish to EXT-X-ENDLIST); it names the event's media playlists. */
export function generateEventId(): string {
  return `ev_${base32(randomBytes(ID_BYTES))}`;
}

export function generateStreamKey(): string {
  return `sk_${base64url(randomBytes(KEY_BYTES))}`;
}

/** Lower-case hex SHA-256 of the key: what the registry indexes, so a lookup never compares secrets. */
export async function hashStreamKey(streamKey: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(streamKey))));
}

const HEX_BYTE = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/** Lower-case hex of the bytes, two digits each. */
export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_BYTE[byte] as string;
  return out;
}
