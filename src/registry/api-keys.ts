/**
 * API keys with scopes, in the registry's SQLite: a key's secret is shown once, when it is made, and only its
 * SHA-256 is kept. Revoking deletes the row; Worker isolates cache lookups for at most 10 s
 * (src/api/middleware/principal.ts), so a revoked key stops working within that bound.
 */
import { normalizeScopes, type Scope } from '../auth/scopes.ts';
import { base32, base64url, hashStreamKey } from './ids.ts';

export const API_KEY_PATTERN = /^ak_[A-Za-z0-9_-]{43}$/;
export const API_KEY_ID_PATTERN = /^key_[a-z2-7]{16}$/;
/** Keys an account holds at most: a bound on the table a lookup walks, far above a team's needs. */
export const MAX_API_KEYS = 200;

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** Epoch ms. */
  createdAt: number;
}

export interface CreatedApiKey {
  key: ApiKeyRecord;
  /** `ak_` + 43 base64url characters: the bearer secret. Returned once; only its hash is stored. */
  secret: string;
}

type ApiKeyRow = { id: string; name: string; scopes: string; key_hash: string; created_at: number };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
`;

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  let scopes: Scope[] = [];
  try {
    scopes = normalizeScopes(JSON.parse(row.scopes) as unknown);
  } catch {
    scopes = [];
  }
  return { id: row.id, name: row.name, scopes, createdAt: row.created_at };
}

export function generateApiKeySecret(): string {
  return `ak_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export const hashApiKey = hashStreamKey;

export class ApiKeyStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(SCHEMA);
  }

  async create(name: string, scopes: Scope[], now: number): Promise<CreatedApiKey | null> {
    const count = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys').one().n;
    if (count >= MAX_API_KEYS) return null;
    const secret = generateApiKeySecret();
    const key: ApiKeyRecord = {
      id: `key_${base32(crypto.getRandomValues(new Uint8Array(10)))}`,
      name,
      scopes,
      createdAt: now,
    };
    this.#sql.exec(
      'INSERT INTO api_keys (id, name, scopes, key_hash, created_at) VALUES (?, ?, ?, ?, ?)',
      key.id,
      name,
      JSON.stringify(scopes),
      await hashApiKey(secret),
      now,
    );
    return { key, secret };
  }

  list(): ApiKeyRecord[] {
    return this.#sql
      .exec<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at DESC, id DESC')
      .toArray()
      .map(toRecord);
  }

  lookup(keyHash: string): ApiKeyRecord | null {
    const row = this.#sql.exec<ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = ?', keyHash).toArray()[0];
    return row ? toRecord(row) : null;
  }

  delete(id: string): boolean {
    return this.#sql.exec('DELETE FROM api_keys WHERE id = ?', id).rowsWritten > 0;
  }
}
