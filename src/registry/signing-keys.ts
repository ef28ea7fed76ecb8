/**
 * The registry's side of signed playback (issue 16): public keys that verify playback tokens, the service's
 * own signing key, and each stream's token generation (revocation).
 *
 * - Customer keys (POST /v1/signing-keys): the key pair is made in the Worker; only the public JWK reaches
 *   this table, so the private key exists only in the one response that hands it over.
 * - The service key signs what POST /v1/streams/{id}/playback-tokens mints. It is made on first use, and its
 *   private JWK is kept in one table (`service_private_keys`), read and written only by `sealPrivateKey` and
 *   `openPrivateKey`: the single place to wrap it with an at-rest key. It never leaves this object: minting
 *   signs here.
 * - A stream's generation starts at 0; POST /v1/streams/{id}/revoke-tokens bumps it and records when
 *   (src/access/claims.ts `revokedByGeneration` decides which tokens that refuses).
 */
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { PlaybackClaims, TokenAlgorithm } from '../access/claims.ts';
import { base32 } from './ids.ts';

export const SIGNING_KEYS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS signing_keys (
    id TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS service_private_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS playback_generations (
    stream_id TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
  );
`;

/** Key ids: `key_` (a customer's) or `svc_` (the service's) and 16 base32 characters (80 random bits). */
export const SIGNING_KEY_ID_PATTERN = /^(key|svc)_[a-z2-7]{16}$/;

export function newSigningKeyId(owner: KeyOwner): string {
  return `${owner === 'customer' ? 'key' : 'svc'}_${base32(crypto.getRandomValues(new Uint8Array(10)))}`;
}

export type KeyOwner = 'customer' | 'service';

export interface SigningKeyRecord {
  id: string;
  algorithm: TokenAlgorithm;
  publicJwk: JWK;
  /** Epoch ms. */
  createdAt: number;
}

/** What every edge verifies with: all active public keys, and the ids of revoked ones. */
export interface VerificationKeys {
  keys: SigningKeyRecord[];
  revoked: string[];
}

/** A stream's token generation: tokens of an older one are refused (src/access/claims.ts). */
export interface TokenGeneration {
  generation: number;
  /** Seconds since the epoch, rounded up, of the last revoke-tokens; 0 when never revoked. */
  revokedAt: number;
}

type KeyRow = {
  id: string;
  algorithm: string;
  public_jwk: string;
  owner: string;
  created_at: number;
  revoked_at: number | null;
};

function toRecord(row: KeyRow): SigningKeyRecord {
  return {
    id: row.id,
    algorithm: row.algorithm === 'ES256' ? 'ES256' : 'RS256',
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    createdAt: row.created_at,
  };
}

/** The one place a private key is written to storage; wrap it here (at-rest encryption) and in `open`. */
function sealPrivateKey(jwk: JWK): string {
  return JSON.stringify(jwk);
}

function openPrivateKey(stored: string): JWK {
  return JSON.parse(stored) as JWK;
}

export class SigningKeys {
  readonly #sql: SqlStorage;
  /** The service key, loaded or made once per object instance (concurrent first mints share it). */
  #serviceKey: Promise<{ kid: string; key: CryptoKey }> | null = null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(SIGNING_KEYS_SCHEMA);
  }

  /** Stores a customer's public key. */
  add(key: { id: string; algorithm: TokenAlgorithm; publicJwk: JWK }, now: number): SigningKeyRecord {
    this.#sql.exec(
      'INSERT INTO signing_keys (id, algorithm, public_jwk, owner, created_at) VALUES (?, ?, ?, ?, ?)',
      key.id,
      key.algorithm,
      JSON.stringify(key.publicJwk),
      'customer',
      now,
    );
    return { ...key, createdAt: now };
  }

  /** Active customer keys, newest first. */
  list(): SigningKeyRecord[] {
    return this.#sql
      .exec<KeyRow>(
        `SELECT * FROM signing_keys WHERE owner = 'customer' AND revoked_at IS NULL ORDER BY created_at DESC, id`,
      )
      .toArray()
      .map(toRecord);
  }

  /** Revokes an active customer key; false when there is none with that id. */
  revoke(id: string, now: number): boolean {
    return (
      this.#sql.exec(
        `UPDATE signing_keys SET revoked_at = ? WHERE id = ? AND owner = 'customer' AND revoked_at IS NULL`,
        now,
        id,
      ).rowsWritten > 0
    );
  }

  verificationKeys(): VerificationKeys {
    const rows = this.#sql.exec<KeyRow>('SELECT * FROM signing_keys').toArray();
    return {
      keys: rows.filter((r) => r.revoked_at === null).map(toRecord),
      revoked: rows.filter((r) => r.revoked_at !== null).map((r) => r.id),
    };
  }

  generation(streamId: string): TokenGeneration {
    const row = this.#sql
      .exec<{ generation: number; revoked_at: number }>(
        'SELECT generation, revoked_at FROM playback_generations WHERE stream_id = ?',
        streamId,
      )
      .toArray()[0];
    return row ? { generation: row.generation, revokedAt: row.revoked_at } : { generation: 0, revokedAt: 0 };
  }

  /** Bumps the stream's generation: every token minted or issued before now is refused from here on. */
  revokeTokens(streamId: string, now: number): TokenGeneration {
    const next = { generation: this.generation(streamId).generation + 1, revokedAt: Math.ceil(now / 1000) };
    this.#sql.exec(
      `INSERT INTO playback_generations (stream_id, generation, revoked_at) VALUES (?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE SET generation = excluded.generation, revoked_at = excluded.revoked_at`,
      streamId,
      next.generation,
      next.revokedAt,
    );
    return next;
  }

  /** Signs `claims` with the service key (made on first use), carrying the stream's current generation. */
  /** `streamId`: whose token generation the token carries (its `sub` names the stream or one of its recordings). */
  async mint(
    claims: Omit<PlaybackClaims, 'gen' | 'iat'>,
    now: number,
    streamId = claims.sub,
  ): Promise<string> {
    const { kid, key } = await this.#service(now);
    const gen = this.generation(streamId).generation;
    return new SignJWT({ ...claims, gen, iat: Math.floor(now / 1000) })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .sign(key);
  }

  #service(now: number): Promise<{ kid: string; key: CryptoKey }> {
    this.#serviceKey ??= this.#loadServiceKey(now).catch((err: unknown) => {
      this.#serviceKey = null;
      throw err;
    });
    return this.#serviceKey;
  }

  async #loadServiceKey(now: number): Promise<{ kid: string; key: CryptoKey }> {
    const row = this.#sql
      .exec<{ kid: string; private_jwk: string }>(
        `SELECT p.kid, p.private_jwk FROM service_private_keys p JOIN signing_keys k ON k.id = p.kid
         WHERE k.revoked_at IS NULL ORDER BY k.created_at DESC LIMIT 1`,
      )
      .toArray()[0];
    if (row) {
      const key = await importJWK(openPrivateKey(row.private_jwk), 'RS256');
      return { kid: row.kid, key: key as CryptoKey };
    }
    const pair = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const kid = newSigningKeyId('service');
    const publicJwk = await exportJWK(pair.publicKey);
    this.#sql.exec(
      'INSERT INTO signing_keys (id, algorithm, public_jwk, owner, created_at) VALUES (?, ?, ?, ?, ?)',
      kid,
      'RS256',
      JSON.stringify({ ...publicJwk, kid, alg: 'RS256', use: 'sig' }),
      'service',
      now,
    );
    this.#sql.exec(
      'INSERT INTO service_private_keys (kid, private_jwk) VALUES (?, ?)',
      kid,
      sealPrivateKey(await exportJWK(pair.privateKey)),
    );
    return { kid, key: pair.privateKey };
  }
}
