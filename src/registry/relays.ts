/**
 * Relay credentials: each relay box gets its own bearer secret (`POST /v1/relays`), shown once and stored as a
 * SHA-256. The credential's id is the relay's identity on every session it starts (never the relay's own
 * word). Revoking deletes the row: the Worker's isolates stop accepting the secret within their cache bound,
 * and each stream object ends the relay's sessions at its next upload (src/stream/relay-gate.ts).
 */
import { base32, base64url, hashStreamKey } from './ids.ts';

export const RELAY_SECRET_PATTERN = /^rc_[A-Za-z0-9_-]{43}$/;
export const RELAY_ID_PATTERN = /^rl_[a-z2-7]{16}$/;
export const MAX_RELAYS = 500;

export interface RelayCredential {
  id: string;
  name: string;
  /** Epoch ms. */
  createdAt: number;
}

type RelayRow = { id: string; name: string; secret_hash: string; created_at: number };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS relay_credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
`;

const toRecord = (row: RelayRow): RelayCredential => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
});

export const hashRelaySecret = hashStreamKey;

export class RelayCredentials {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(SCHEMA);
  }

  async issue(name: string, now: number): Promise<{ relay: RelayCredential; secret: string } | null> {
    const count = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM relay_credentials').one().n;
    if (count >= MAX_RELAYS) return null;
    const secret = `rc_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
    const relay: RelayCredential = {
      id: `rl_${base32(crypto.getRandomValues(new Uint8Array(10)))}`,
      name,
      createdAt: now,
    };
    this.#sql.exec(
      'INSERT INTO relay_credentials (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)',
      relay.id,
      name,
      await hashRelaySecret(secret),
      now,
    );
    return { relay, secret };
  }

  list(): RelayCredential[] {
    return this.#sql
      .exec<RelayRow>('SELECT * FROM relay_credentials ORDER BY created_at DESC, id DESC')
      .toArray()
      .map(toRecord);
  }

  lookup(secretHash: string): RelayCredential | null {
    const row = this.#sql
      .exec<RelayRow>('SELECT * FROM relay_credentials WHERE secret_hash = ?', secretHash)
      .toArray()[0];
    return row ? toRecord(row) : null;
  }

  isActive(id: string): boolean {
    return this.#sql.exec('SELECT 1 FROM relay_credentials WHERE id = ?', id).toArray().length > 0;
  }

  revoke(id: string): boolean {
    return this.#sql.exec('DELETE FROM relay_credentials WHERE id = ?', id).rowsWritten > 0;
  }
}
