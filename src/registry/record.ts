import type { IngestRole, StreamConfig } from '../contract/ingest.ts';
import { DEFAULT_STREAM_CONFIG, resolveConfig } from './config.ts';

/** `idle`: never published or between sessions; `live`: a session is publishing; `ended`: the last session ended. */
export type StreamStatus = 'idle' | 'live' | 'ended';
export const STREAM_STATUSES: readonly StreamStatus[] = ['idle', 'live', 'ended'];

/** One stream in the catalogue, as the registry returns it over RPC. Times are epoch milliseconds. */
export interface StreamRecord {
  id: string;
  name: string;
  /** The current stream key (a secret; see registry-do.ts for why it is stored at all). */
  streamKey: string;
  config: StreamConfig;
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
  stream_key: string;
  key_hash: string;
  config: string;
  srt_passphrase: string | null;
  status: string;
  created_at: number;
  updated_at: number;
  last_status_at: number | null;
};

export const STREAMS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS streams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stream_key TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    srt_passphrase TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_status_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS streams_by_created ON streams (created_at DESC, id DESC);
`;

function isStatus(value: string): value is StreamStatus {
  return (STREAM_STATUSES as readonly string[]).includes(value);
}

/** Stored config JSON back to a `StreamConfig`; a damaged or older row falls back field by field to defaults. */
export function parseStoredConfig(text: string): StreamConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return DEFAULT_STREAM_CONFIG;
  }
  const change: Partial<StreamConfig> = {};
  if (typeof parsed === 'object' && parsed !== null) {
    for (const field of ['partTarget', 'segmentTarget', 'reconnectWindow'] as const) {
      const value: unknown = (parsed as Record<string, unknown>)[field];
      if (typeof value === 'number') change[field] = value;
    }
  }
  const result = resolveConfig(DEFAULT_STREAM_CONFIG, change);
  return result.ok ? result.config : DEFAULT_STREAM_CONFIG;
}

export function rowToRecord(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    name: row.name,
    streamKey: row.stream_key,
    config: parseStoredConfig(row.config),
    srtPassphrase: row.srt_passphrase,
    status: isStatus(row.status) ? row.status : 'idle',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastStatusAt: row.last_status_at,
  };
}

export function recordToRow(record: StreamRecord, keyHash: string): StreamRow {
  return {
    id: record.id,
    name: record.name,
    stream_key: record.streamKey,
    key_hash: keyHash,
    config: JSON.stringify(record.config),
    srt_passphrase: record.srtPassphrase,
    status: record.status,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    last_status_at: record.lastStatusAt,
  };
}
