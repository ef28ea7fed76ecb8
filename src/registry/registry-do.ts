import { DurableObject } from 'cloudflare:workers';
import type { PlaybackRules } from '../access/claims.ts';
import { resolveConfig, type StreamConfig } from '../contract/stream-config.ts';
import type { Env } from '../env.ts';
import { type NewWebhook, WebhookEndpoints } from '../webhooks/endpoints.ts';
import type { WebhookEvent } from '../webhooks/events.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  BACKUP_KEY_INDEX,
  type KeyLookup,
  recordToRow,
  rowToRecord,
  STREAM_STATUSES,
  STREAMS_SCHEMA,
  type StreamRecord,
  type StreamRow,
  type StreamStatus,
} from './record.ts';
import { type SigningKeyRecord, SigningKeys, type TokenGeneration } from './signing-keys.ts';

/** What an edge needs to decide a viewer request for one stream (src/access/edge-registry.ts). */
export interface PlaybackAccess extends TokenGeneration {
  policy: StreamConfig['playbackPolicy'];
}

/** Which of a stream's keys a rotation replaces. */
export type KeyRole = 'primary' | 'backup';

/** Everything `create` stores. The Worker generates the id and key and hashes the key before the call. */
export interface NewStream {
  id: string;
  name: string;
  streamKey: string;
  /** Hex SHA-256 of `streamKey` (ids.ts `hashStreamKey`). */
  keyHash: string;
  backupStreamKey: string;
  backupKeyHash: string;
  config: StreamConfig;
  srtPassphrase: string | null;
  /** Epoch milliseconds. */
  now: number;
}

/** A PATCH: absent (undefined) fields are kept; `srtPassphrase: null` clears the passphrase. */
export interface StreamChange {
  name?: string;
  config?: Partial<StreamConfig>;
  srtPassphrase?: string | null;
}

export type UpdateResult =
  | { ok: true; stream: StreamRecord }
  | { ok: false; code: 'not-found' }
  | { ok: false; code: 'invalid-config'; field: keyof StreamConfig; detail: string };

export interface StreamPage {
  streams: StreamRecord[];
  /** Opaque cursor of the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * The stream catalogue: one instance (`registryStub`), SQLite-backed, indexed by the SHA-256 of each stream key.
 *
 * Why the plain key is stored too: the owner sees the key again on GET, as Mux and Cloudflare Stream show it,
 * so an operator can recover an encoder's settings without rotating. Encrypting it at rest would only move
 * the secret into the Worker's environment next to the API token that already grants reading it. The relay's
 * lookups still go by hash (`lookupKey`), so a key is never compared or logged as a string.
 */
export class StreamRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(STREAMS_SCHEMA);
    const columns = this.sql.exec<{ name: string }>('PRAGMA table_info(streams)').toArray();
    if (!columns.some((c) => c.name === 'backup_key')) {
      this.sql.exec('ALTER TABLE streams ADD COLUMN backup_key TEXT');
      this.sql.exec('ALTER TABLE streams ADD COLUMN backup_key_hash TEXT');
    }
    this.sql.exec(BACKUP_KEY_INDEX);
    this.webhooks = new WebhookEndpoints(ctx, this.sql);
    this.signingKeys = new SigningKeys(this.sql);
  }

  /** Playback token keys and generations (src/registry/signing-keys.ts). */
  private readonly signingKeys: SigningKeys;

  addSigningKey(key: Omit<SigningKeyRecord, 'createdAt'>): SigningKeyRecord {
    return this.signingKeys.add(key, Date.now());
  }

  listSigningKeys(): SigningKeyRecord[] {
    return this.signingKeys.list();
  }

  revokeSigningKey(id: string): boolean {
    return this.signingKeys.revoke(id, Date.now());
  }

  /** What an edge isolate verifies tokens with; fetched at most once per 10 s per isolate (src/access/). */
  verificationKeys() {
    return this.signingKeys.verificationKeys();
  }

  /** A stream's playback policy and token generation, or null when there is no such stream. */
  playbackAccess(streamId: string): PlaybackAccess | null {
    const record = this.get(streamId);
    if (!record) return null;
    return { policy: record.config.playbackPolicy, ...this.signingKeys.generation(streamId) };
  }

  /** Mints a playback token for an existing stream with the service key; null when there is no such stream. */
  async mintPlaybackToken(input: {
    streamId: string;
    expiresIn: number;
    rules: PlaybackRules;
  }): Promise<string | null> {
    if (!this.get(input.streamId)) return null;
    const now = Date.now();
    return this.signingKeys.mint(
      { sub: input.streamId, exp: Math.floor(now / 1000) + input.expiresIn, ...input.rules },
      now,
    );
  }

  revokePlaybackTokens(streamId: string): TokenGeneration | null {
    if (!this.get(streamId)) return null;
    return this.signingKeys.revokeTokens(streamId, Date.now());
  }

  /** Account-wide webhook endpoints and their delivery queue (src/webhooks/endpoints.ts). */
  private readonly webhooks: WebhookEndpoints;

  createWebhook(input: NewWebhook) {
    return this.webhooks.create(input);
  }

  listWebhooks() {
    return this.webhooks.list();
  }

  deleteWebhook(id: string): boolean {
    return this.webhooks.delete(id);
  }

  webhookDeliveries(id: string) {
    return this.webhooks.deliveries(id);
  }

  /** Only queues (one SQL insert per endpoint) and arms the alarm: callers on the media path never wait on delivery. */
  enqueueWebhookEvent(event: WebhookEvent): Promise<number> {
    return this.webhooks.enqueue(event, Date.now());
  }

  override async alarm(): Promise<void> {
    await this.webhooks.deliver();
  }

  create(input: NewStream): StreamRecord {
    const record: StreamRecord = {
      id: input.id,
      name: input.name,
      streamKey: input.streamKey,
      backupStreamKey: input.backupStreamKey,
      config: input.config,
      srtPassphrase: input.srtPassphrase,
      status: 'idle',
      createdAt: input.now,
      updatedAt: input.now,
      lastStatusAt: null,
    };
    const row = recordToRow(record, input.keyHash, input.backupKeyHash);
    this.sql.exec(
      `INSERT INTO streams (id, name, stream_key, key_hash, backup_key, backup_key_hash, config, srt_passphrase,
         status, created_at, updated_at, last_status_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.name,
      row.stream_key,
      row.key_hash,
      row.backup_key,
      row.backup_key_hash,
      row.config,
      row.srt_passphrase,
      row.status,
      row.created_at,
      row.updated_at,
      row.last_status_at,
    );
    return record;
  }

  get(id: string): StreamRecord | null {
    const row = this.sql.exec<StreamRow>('SELECT * FROM streams WHERE id = ?', id).toArray()[0];
    return row ? rowToRecord(row) : null;
  }

  /** Newest first. `limit` is clamped to 1-100; a cursor not made by this registry reads as the first page. */
  list(limit: number, cursor: string | null): StreamPage {
    const size = Math.min(100, Math.max(1, Math.trunc(limit) || 1));
    const after = cursor === null ? null : decodeCursor(cursor);
    // One extra row tells whether another page exists without a COUNT.
    const rows = after
      ? this.sql
          .exec<StreamRow>(
            // Row-value comparison walks the (created_at DESC, id DESC) index from the cursor on.
            `SELECT * FROM streams WHERE (created_at, id) < (?, ?)
             ORDER BY created_at DESC, id DESC LIMIT ?`,
            after.createdAt,
            after.id,
            size + 1,
          )
          .toArray()
      : this.sql
          .exec<StreamRow>('SELECT * FROM streams ORDER BY created_at DESC, id DESC LIMIT ?', size + 1)
          .toArray();
    const page = rows.slice(0, size).map(rowToRecord);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > size && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
    return { streams: page, nextCursor };
  }

  update(id: string, change: StreamChange, now: number): UpdateResult {
    const current = this.get(id);
    if (!current) return { ok: false, code: 'not-found' };
    const resolved = resolveConfig(current.config, change.config ?? {});
    if (!resolved.ok)
      return { ok: false, code: 'invalid-config', field: resolved.field, detail: resolved.detail };
    const name = change.name ?? current.name;
    const srtPassphrase = change.srtPassphrase === undefined ? current.srtPassphrase : change.srtPassphrase;
    this.sql.exec(
      'UPDATE streams SET name = ?, config = ?, srt_passphrase = ?, updated_at = ? WHERE id = ?',
      name,
      JSON.stringify(resolved.config),
      srtPassphrase,
      now,
      id,
    );
    return { ok: true, stream: { ...current, name, config: resolved.config, srtPassphrase, updatedAt: now } };
  }

  /** Returns false when there was no such stream. */
  delete(id: string): boolean {
    return this.sql.exec('DELETE FROM streams WHERE id = ?', id).rowsWritten > 0;
  }

  /**
   * Replaces the primary or the backup key; the old key's hash leaves the index, so its next publish is
   * refused (a session already publishing with it goes on until it disconnects).
   */
  rotateKey(
    id: string,
    which: KeyRole,
    streamKey: string,
    keyHash: string,
    now: number,
  ): StreamRecord | null {
    const columns =
      which === 'primary' ? 'stream_key = ?, key_hash = ?' : 'backup_key = ?, backup_key_hash = ?';
    const written = this.sql.exec(
      `UPDATE streams SET ${columns}, updated_at = ? WHERE id = ?`,
      streamKey,
      keyHash,
      now,
      id,
    ).rowsWritten;
    return written > 0 ? this.get(id) : null;
  }

  lookupKey(keyHash: string): KeyLookup | null {
    // Two indexed lookups rather than an OR, so each uses its unique index.
    const primary = this.sql
      .exec<StreamRow>('SELECT * FROM streams WHERE key_hash = ?', keyHash)
      .toArray()[0];
    const row =
      primary ??
      this.sql.exec<StreamRow>('SELECT * FROM streams WHERE backup_key_hash = ?', keyHash).toArray()[0];
    if (!row) return null;
    const record = rowToRecord(row);
    return {
      streamId: record.id,
      role: primary ? 'primary' : 'backup',
      config: record.config,
      srtPassphrase: record.srtPassphrase,
    };
  }

  /**
   * Called by a stream's Durable Object when it goes live or ends. Unknown ids (a stream deleted while live)
   * are ignored, and so is a report older than the last one applied: RPCs from one object can overtake each
   * other, and `at` (epoch ms, the object's clock) orders them.
   */
  setStatus(streamId: string, status: StreamStatus, at: number): void {
    if (!STREAM_STATUSES.includes(status) || !Number.isFinite(at)) return;
    this.sql.exec(
      `UPDATE streams SET status = ?, last_status_at = ?
       WHERE id = ? AND (last_status_at IS NULL OR last_status_at <= ?)`,
      status,
      at,
      streamId,
      at,
    );
  }

  /** Kept for the smoke test: reaches the object without touching storage. */
  async ping(): Promise<string> {
    return 'pong';
  }
}

/** The single registry instance. */
export function registryStub(env: Env): DurableObjectStub<StreamRegistry> {
  return env.REGISTRY.get(env.REGISTRY.idFromName('global'));
}
