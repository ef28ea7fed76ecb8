import type { IngestRole } from '../contract/ingest.ts';
import {
  DEFAULT_STREAM_CONFIG,
  readStreamConfig,
  resolveConfig,
  type StreamConfig,
} from '../contract/stream-config.ts';

/** `idle`: never published or between sessions; `live`: a session is publishing; `ended`: the last session ended. */
export type StreamStatus = 'idle' | 'live' | 'ended';
export const STREAM_STATUSES: readonly StreamStatus[] = ['idle', 'live', 'ended'];

/** One stream in the catalogue, as the registry returns it over RPC. Times are epoch milliseconds. */
export interface StreamRecord {
  id: string;
  name: string;
  /**
   * Whether the stream has a backup encoder's key, which publishes the same stream as the 'backup' input
   * (failover, issue 6). False only for streams created before backup keys existed, until its first rotation.
   * Keys themselves are stored only as hashes (issue 16): they are shown once, at create and rotate.
   */
  hasBackupKey: boolean;
  config: StreamConfig;
  /** Opened from its sealed form (secrets.ts) by the registry; null when the stream has none. */
  srtPassphrase: string | null;
  status: StreamStatus;
  createdAt: number;
  updatedAt: number;
  /** When the stream's Durable Object last reported a status; null when it never did. */
  lastStatusAt: number | null;
}

/** What the relay's key lookup needs: which stream, as which role, with which settings. */
export interface KeyLookup {
  streamId: string;
  role: IngestRole;
  config: StreamConfig;
  srtPassphrase: string | null;
}

/** A row of the `streams` table, as `ctx.storage.sql` returns it. */
export type StreamRow = {
  id: string;
  name: string;
  key_hash: string;
  backup_key_hash: string | null;
  config: string;
  /** AES-GCM sealed (secrets.ts), with the context `srtPassphraseContext(id)`. */
  srt_passphrase_sealed: string | null;
  /** Only in tables from before issue 16 whose passphrases await a SECRETS_KEY to be sealed (stream-table.ts). */
  srt_passphrase?: string | null;
  status: string;
  created_at: number;
  updated_at: number;
  last_status_at: number | null;
};

export const STREAMS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS streams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    backup_key_hash TEXT,
    config TEXT NOT NULL,
    srt_passphrase_sealed TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_status_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS streams_by_created ON streams (created_at DESC, id DESC);
`;

/** Run after the table's migration (stream-table.ts): tables made before backup keys get the column first. */
export const BACKUP_KEY_INDEX =
  'CREATE UNIQUE INDEX IF NOT EXISTS streams_by_backup_key ON streams (backup_key_hash)';

function isStatus(value: string): value is StreamStatus {
  return (STREAM_STATUSES as readonly string[]).includes(value);
}

/**
 * Stored config JSON back to a `StreamConfig` through the one schema (src/contract/stream-config.ts): every
 * field type round-trips; a damaged or older row falls back field by field to defaults, and one that breaks
 * the cross-field rule to the defaults.
 */
export function parseStoredConfig(text: string): StreamConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return DEFAULT_STREAM_CONFIG;
  }
  const result = resolveConfig(readStreamConfig(parsed), {});
  return result.ok ? result.config : DEFAULT_STREAM_CONFIG;
}

/** The row as a record; `srtPassphrase` is the opened passphrase (the registry opens the sealed column). */
export function rowToRecord(row: StreamRow, srtPassphrase: string | null): StreamRecord {
  return {
    id: row.id,
    name: row.name,
    hasBackupKey: row.backup_key_hash !== null,
    config: parseStoredConfig(row.config),
    srtPassphrase,
    status: isStatus(row.status) ? row.status : 'idle',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastStatusAt: row.last_status_at,
  };
}
