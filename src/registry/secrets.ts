/**
 * Secrets the service must read back (SRT passphrases, webhook signing secrets), sealed at rest with AES-256-GCM
 * (WebCrypto) under a key from the environment. Each ciphertext names the key that sealed it, so the key can be
 * rotated: set the new one as `SECRETS_KEY`, the old one in `SECRETS_KEY_PREVIOUS` (comma-separated for
 * several), and the registry reseals what the old key sealed when it next loads (registry-do.ts).
 *
 * Sealed form: `s1.{kid}.{iv}.{ciphertext}`, iv and ciphertext base64url. `kid` is the first 8 hex digits of
 * SHA-256 over the key text, so no key id needs configuring, and a wrong key is told apart from damage.
 * The context (what the secret belongs to, e.g. `srt-passphrase:st_...`) is the GCM additional data: a sealed
 * value copied onto another row does not open there.
 */
import { base64url, hex } from './ids.ts';

const PREFIX = 's1';
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A sealed value this keyring cannot open: its key is not configured, or the bytes or context are wrong. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
}

interface RingKey {
  kid: string;
  key: CryptoKey;
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
}

async function keyId(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret)));
  return hex(digest.subarray(0, 4));
}

/** HKDF-SHA256 turns any high-entropy text (e.g. `openssl rand -base64 32`) into an AES-256-GCM key. */
async function deriveKey(secret: string): Promise<RingKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: encoder.encode('edge-live secrets at rest'),
      info: new Uint8Array(),
    },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  return { kid: await keyId(secret), key };
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

/** The key id a sealed value names, or null when it is not a sealed value. */
export function sealedKeyId(value: string): string | null {
  const parts = value.split('.');
  return parts.length === 4 && parts[0] === PREFIX ? (parts[1] ?? null) : null;
}

export class SecretBox {
  readonly #current: RingKey | null;
  readonly #ring: Map<string, RingKey>;

  private constructor(current: RingKey | null, ring: RingKey[]) {
    this.#current = current;
    this.#ring = new Map(ring.map((k) => [k.kid, k]));
  }

  /** The keyring of `SECRETS_KEY` (sealing and opening) and `SECRETS_KEY_PREVIOUS` (opening only). */
  static async fromEnv(env: { SECRETS_KEY?: string; SECRETS_KEY_PREVIOUS?: string }): Promise<SecretBox> {
    const current = env.SECRETS_KEY?.trim() ? await deriveKey(env.SECRETS_KEY.trim()) : null;
    const previous = (env.SECRETS_KEY_PREVIOUS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const older = await Promise.all(previous.map(deriveKey));
    return new SecretBox(current, current ? [current, ...older] : older);
  }

  /** False when `SECRETS_KEY` is unset: nothing can be sealed (the API answers 503 before asking). */
  get canSeal(): boolean {
    return this.#current !== null;
  }

  get currentKeyId(): string | null {
    return this.#current?.kid ?? null;
  }

  async seal(plain: string, context: string): Promise<string> {
    const current = this.#current;
    if (!current) throw new SecretError('SECRETS_KEY is not set: secrets cannot be stored');
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
      current.key,
      encoder.encode(plain),
    );
    return [PREFIX, current.kid, base64url(iv), base64url(new Uint8Array(sealed))].join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const [prefix, kid, iv, data] = sealed.split('.');
    if (prefix !== PREFIX || !kid || !iv || !data) throw new SecretError('not a sealed secret');
    const ringKey = this.#ring.get(kid);
    if (!ringKey)
      throw new SecretError(`sealed with key ${kid}, which is neither SECRETS_KEY nor a previous key`);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: encoder.encode(context) },
        ringKey.key,
        fromBase64url(data),
      );
      return decoder.decode(plain);
    } catch {
      throw new SecretError(`sealed secret does not open with key ${kid} (damaged, or another row's)`);
    }
  }

  /** True when `sealed` was sealed by another key than the current one (a rotation left it behind). */
  needsReseal(sealed: string): boolean {
    const kid = sealedKeyId(sealed);
    return this.#current !== null && kid !== null && kid !== this.#current.kid;
  }
}
