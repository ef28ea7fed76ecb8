/**
 * Relay credentials: each relay box gets its own bearer secret (`POST /v1/relays`), shown once and stored as a
 * SHA-256. The credential's id is the relay's identity on every session it starts (never the relay's own
 * word). Revoking keeps the row as a tombstone (`revoked_at`): the Worker refuses the secret for anything but
 * the relay's own sessions, whose next upload reaches the stream object, which ends the session with the reason
 * (src/stream/relay-gate.ts). Isolates cache lookups, so every path settles within 10 s.
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

/** What a secret's lookup finds: the credential, and whether it was revoked (epoch ms) or not (null). */
export interface RelayLookup extends RelayCredential {
  revokedAt: number | null;
}

type RelayRow = {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
};

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS relay_credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
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
    const count = this.#sql
      .exec<{ n: number }>('SELECT COUNT(*) AS n FROM relay_credentials WHERE revoked_at IS NULL')
      .one().n;
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

  /** The credentials in force (revoked ones are kept only to be recognized). */
  list(): RelayCredential[] {
    return this.#sql
      .exec<RelayRow>(
        'SELECT * FROM relay_credentials WHERE revoked_at IS NULL ORDER BY created_at DESC, id DESC',
      )
      .toArray()
      .map(toRecord);
  }

  lookup(secretHash: string): RelayLookup | null {
    const row = this.#sql
      .exec<RelayRow>('SELECT * FROM relay_credentials WHERE secret_hash = ?', secretHash)
      .toArray()[0];
    return row ? { ...toRecord(row), revokedAt: row.revoked_at } : null;
  }

  isActive(id: string): boolean {
    return (
      this.#sql.exec('SELECT 1 FROM relay_credentials WHERE id = ? AND revoked_at IS NULL', id).toArray()
        .length > 0
    );
  }

  /** False when there is no such credential in force. */
  revoke(id: string, now: number): boolean {
    return (
      this.#sql.exec(
        'UPDATE relay_credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
        now,
        id,
      ).rowsWritten > 0
    );
  }
}
