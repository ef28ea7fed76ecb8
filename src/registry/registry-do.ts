import { DurableObject } from 'cloudflare:workers';
import type { PlaybackRules } from '../access/claims.ts';
import type { Scope } from '../auth/scopes.ts';
import { resolveConfig, type StreamConfig } from '../contract/stream-config.ts';
import type { Env } from '../env.ts';
import { type NewWebhook, WebhookEndpoints } from '../webhooks/endpoints.ts';
import type { WebhookEvent } from '../webhooks/events.ts';
import { ApiKeyStore } from './api-keys.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  type KeyLookup,
  rowToRecord,
  STREAM_STATUSES,
  type StreamRecord,
  type StreamRow,
  type StreamStatus,
} from './record.ts';
import { type SigningKeyRecord, SigningKeys, type TokenGeneration } from './signing-keys.ts';

/** What an edge needs to decide a viewer request for one stream (src/access/edge-registry.ts). */
export interface PlaybackAccess extends TokenGeneration {
  policy: StreamConfig['playbackPolicy'];
}

import { RelayCredentials } from './relays.ts';
import { SecretBox } from './secrets.ts';
import {
  migrateStreamsTable,
  openPassphrase,
  sealStoredPassphrases,
  srtPassphraseContext,
} from './stream-table.ts';

/** Which of a stream's keys a rotation replaces. */
export type KeyRole = 'primary' | 'backup';

/**
 * Everything `create` stores. The Worker generates the id and keys and hashes the keys before the call: the
 * keys themselves never reach the registry (they are shown once, in the create response).
 */
export interface NewStream {
  id: string;
  name: string;
  /** Hex SHA-256 of the stream key (ids.ts `hashStreamKey`). */
  keyHash: string;
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
 * Nothing secret is stored in the clear (issue 16): stream keys, API keys and relay credentials only as
 * hashes; SRT passphrases and webhook secrets sealed with SECRETS_KEY (secrets.ts), opened when read.
 */
export class StreamRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Set in the constructor's blockConcurrencyWhile, before any call is delivered. */
  private box!: SecretBox;
  /** API keys with scopes (api-keys.ts). */
  private readonly apiKeys: ApiKeyStore;
  /** Per-relay ingest credentials (relays.ts). */
  private readonly relays: RelayCredentials;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateStreamsTable(this.sql);
    this.apiKeys = new ApiKeyStore(this.sql);
    this.relays = new RelayCredentials(this.sql);
    this.webhooks = new WebhookEndpoints(ctx, this.sql, () => this.box);
    void ctx.blockConcurrencyWhile(async () => {
      this.box = await SecretBox.fromEnv(env);
      await sealStoredPassphrases(this.sql, this.box);
      await this.webhooks.sealStoredSecrets();
    });
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
  async playbackAccess(streamId: string): Promise<PlaybackAccess | null> {
    const record = await this.get(streamId);
    if (!record) return null;
    return { policy: record.config.playbackPolicy, ...this.signingKeys.generation(streamId) };
  }

  /** Mints a playback token for an existing stream with the service key; null when there is no such stream. */
  /** A token for the stream, or (`subject`) for one of its recordings: the stream's generation either way. */
  async mintPlaybackToken(input: {
    streamId: string;
    subject?: string;
    expiresIn: number;
    rules: PlaybackRules;
  }): Promise<string | null> {
    if (!(await this.get(input.streamId))) return null;
    const now = Date.now();
    return this.signingKeys.mint(
      { sub: input.subject ?? input.streamId, exp: Math.floor(now / 1000) + input.expiresIn, ...input.rules },
      now,
      input.streamId,
    );
  }

  async revokePlaybackTokens(streamId: string): Promise<TokenGeneration | null> {
    if (!(await this.get(streamId))) return null;
    return this.signingKeys.revokeTokens(streamId, Date.now());
  }

  /** Opens the row's sealed passphrase and makes the record. */
  private async record(row: StreamRow): Promise<StreamRecord> {
    return rowToRecord(row, await openPassphrase(this.box, row));
  }

  createApiKey(name: string, scopes: Scope[]) {
    return this.apiKeys.create(name, scopes, Date.now());
  }

  listApiKeys() {
    return this.apiKeys.list();
  }

  lookupApiKey(keyHash: string) {
    return this.apiKeys.lookup(keyHash);
  }

  deleteApiKey(id: string): boolean {
    return this.apiKeys.delete(id);
  }

  issueRelayCredential(name: string) {
    return this.relays.issue(name, Date.now());
  }

  listRelayCredentials() {
    return this.relays.list();
  }

  lookupRelayCredential(secretHash: string) {
    return this.relays.lookup(secretHash);
  }

  relayCredentialActive(id: string): boolean {
    return this.relays.isActive(id);
  }

  revokeRelayCredential(id: string): boolean {
    return this.relays.revoke(id, Date.now());
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

  async create(input: NewStream): Promise<StreamRecord> {
    const sealed =
      input.srtPassphrase === null
        ? null
        : await this.box.seal(input.srtPassphrase, srtPassphraseContext(input.id));
    this.sql.exec(
      `INSERT INTO streams (id, name, key_hash, backup_key_hash, config, srt_passphrase_sealed,
         status, created_at, updated_at, last_status_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.id,
      input.name,
      input.keyHash,
      input.backupKeyHash,
      JSON.stringify(input.config),
      sealed,
      'idle',
      input.now,
      input.now,
      null,
    );
    return {
      id: input.id,
      name: input.name,
      hasBackupKey: true,
      config: input.config,
      srtPassphrase: input.srtPassphrase,
      status: 'idle',
      createdAt: input.now,
      updatedAt: input.now,
      lastStatusAt: null,
    };
  }

  async get(id: string): Promise<StreamRecord | null> {
    const row = this.sql.exec<StreamRow>('SELECT * FROM streams WHERE id = ?', id).toArray()[0];
    return row ? this.record(row) : null;
  }

  /** Newest first. `limit` is clamped to 1-100; a cursor not made by this registry reads as the first page. */
  async list(limit: number, cursor: string | null): Promise<StreamPage> {
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
    const page = await Promise.all(rows.slice(0, size).map((row) => this.record(row)));
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > size && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
    return { streams: page, nextCursor };
  }

  async update(id: string, change: StreamChange, now: number): Promise<UpdateResult> {
    const current = await this.get(id);
    if (!current) return { ok: false, code: 'not-found' };
    const resolved = resolveConfig(current.config, change.config ?? {});
    if (!resolved.ok)
      return { ok: false, code: 'invalid-config', field: resolved.field, detail: resolved.detail };
    const name = change.name ?? current.name;
    const srtPassphrase = change.srtPassphrase === undefined ? current.srtPassphrase : change.srtPassphrase;
    this.sql.exec(
      'UPDATE streams SET name = ?, config = ?, updated_at = ? WHERE id = ?',
      name,
      JSON.stringify(resolved.config),
      now,
      id,
    );
    if (change.srtPassphrase !== undefined) {
      const sealed =
        srtPassphrase === null ? null : await this.box.seal(srtPassphrase, srtPassphraseContext(id));
      this.sql.exec('UPDATE streams SET srt_passphrase_sealed = ? WHERE id = ?', sealed, id);
    }
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
  async rotateKey(id: string, which: KeyRole, keyHash: string, now: number): Promise<StreamRecord | null> {
    const column = which === 'primary' ? 'key_hash' : 'backup_key_hash';
    const written = this.sql.exec(
      `UPDATE streams SET ${column} = ?, updated_at = ? WHERE id = ?`,
      keyHash,
      now,
      id,
    ).rowsWritten;
    return written > 0 ? this.get(id) : null;
  }

  async lookupKey(keyHash: string): Promise<KeyLookup | null> {
    // Two indexed lookups rather than an OR, so each uses its unique index.
    const primary = this.sql
      .exec<StreamRow>('SELECT * FROM streams WHERE key_hash = ?', keyHash)
      .toArray()[0];
    const row =
      primary ??
      this.sql.exec<StreamRow>('SELECT * FROM streams WHERE backup_key_hash = ?', keyHash).toArray()[0];
    if (!row) return null;
    const record = await this.record(row);
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
