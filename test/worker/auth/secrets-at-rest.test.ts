// Secrets at rest (issue 16): stream keys only as hashes; SRT passphrases and webhook secrets sealed with
// SECRETS_KEY (AES-GCM, the key id inside), opened with a rotated keyring, and tables from before migrated.
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { hashStreamKey } from '../../../src/registry/ids.ts';
import type { StreamRegistry } from '../../../src/registry/registry-do.ts';
import { SecretBox, sealedKeyId } from '../../../src/registry/secrets.ts';
import {
  migrateStreamsTable,
  openPassphrase,
  sealStoredPassphrases,
  srtPassphraseContext,
} from '../../../src/registry/stream-table.ts';
import { call, createStream, INGEST_TOKEN } from '../api/client.ts';

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName('global'));

/** Every stored cell of the registry's tables, as text. */
async function storedText(): Promise<string> {
  return runInDurableObject(registry(), async (_o: StreamRegistry, state) => {
    const cells: string[] = [];
    for (const table of ['streams', 'webhooks']) {
      for (const row of state.storage.sql.exec(`SELECT * FROM ${table}`).toArray()) {
        cells.push(...Object.values(row).map(String));
      }
    }
    return cells.join('\n');
  });
}

describe('secrets at rest', () => {
  it('stores stream keys only as hashes', async () => {
    const s = await createStream({ name: 'hash only' });
    const text = await storedText();
    expect(text).not.toContain(s.streamKey);
    expect(text).not.toContain(s.backupStreamKey);
    expect(text).toContain(await hashStreamKey(s.streamKey));
    const columns = await runInDurableObject(registry(), async (_o: StreamRegistry, state) =>
      state.storage.sql
        .exec<{ name: string }>('PRAGMA table_info(streams)')
        .toArray()
        .map((c) => c.name),
    );
    expect(columns).not.toContain('stream_key');
    expect(columns).not.toContain('backup_key');
  });

  it('seals the SRT passphrase (ciphertext in storage), opening it for the owner and the relay', async () => {
    const passphrase = 'correct horse battery staple';
    const s = await createStream({ srtPassphrase: passphrase });
    expect(s.srtPassphrase).toBe(passphrase);
    const text = await storedText();
    expect(text).not.toContain(passphrase);
    const sealed = await runInDurableObject(registry(), async (_o: StreamRegistry, state) => {
      return state.storage.sql
        .exec<{ v: string }>('SELECT srt_passphrase_sealed AS v FROM streams WHERE id = ?', s.id)
        .one().v;
    });
    const box = await SecretBox.fromEnv(env);
    expect(sealedKeyId(sealed)).toBe(box.currentKeyId);
    expect(await box.open(sealed, srtPassphraseContext(s.id))).toBe(passphrase);
    // Bound to its row: the same ciphertext does not open as another stream's.
    await expect(box.open(sealed, srtPassphraseContext('st_other'))).rejects.toThrow(/does not open/);

    expect(
      ((await (await call('GET', `/v1/streams/${s.id}`)).json()) as { srtPassphrase: string }).srtPassphrase,
    ).toBe(passphrase);
    const authorized = await call('POST', '/internal/v1/authorize', {
      json: { streamKey: s.streamKey, protocol: 'srt' },
      token: INGEST_TOKEN,
    });
    expect(((await authorized.json()) as { srtPassphrase: string }).srtPassphrase).toBe(passphrase);

    // PATCH to another passphrase reseals; null clears.
    await call('PATCH', `/v1/streams/${s.id}`, { json: { srtPassphrase: 'another long passphrase' } });
    expect(await storedText()).not.toContain('another long passphrase');
    const cleared = await call('PATCH', `/v1/streams/${s.id}`, { json: { srtPassphrase: null } });
    expect(((await cleared.json()) as { srtPassphrase: null }).srtPassphrase).toBeNull();
  });

  it('seals webhook secrets in storage', async () => {
    const res = await call('POST', '/v1/webhooks', { json: { url: 'https://example.com/sealed' } });
    expect(res.status).toBe(201);
    const { secret } = (await res.json()) as { secret: string };
    const text = await storedText();
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice('whsec_'.length));
  });

  it('opens what a previous key sealed, and reseals it under the current key', async () => {
    // The worker tests' bindings: SECRETS_KEY current, SECRETS_KEY_PREVIOUS the one before (vitest.config.ts).
    const before = await SecretBox.fromEnv({ SECRETS_KEY: env.SECRETS_KEY_PREVIOUS });
    const now = await SecretBox.fromEnv(env);
    const sealedBefore = await before.seal('old passphrase 123', srtPassphraseContext('st_rotated'));
    expect(now.needsReseal(sealedBefore)).toBe(true);
    expect(await now.open(sealedBefore, srtPassphraseContext('st_rotated'))).toBe('old passphrase 123');
    // A key in neither place: refused with the key id it needed.
    const stranger = await SecretBox.fromEnv({ SECRETS_KEY: 'some other deployment' });
    await expect(now.open(await stranger.seal('x', 'c'), 'c')).rejects.toThrow(/neither SECRETS_KEY/);
    // Without a key nothing is sealed.
    await expect((await SecretBox.fromEnv({})).seal('x', 'c')).rejects.toThrow(/SECRETS_KEY is not set/);

    // On load the registry reseals rows of the old key.
    await runInDurableObject(registry(), async (_o: StreamRegistry, state) => {
      const sql = state.storage.sql;
      sql.exec(
        `INSERT INTO streams (id, name, key_hash, backup_key_hash, config, srt_passphrase_sealed, status,
           created_at, updated_at) VALUES ('st_rotated', '', 'h-rotated', NULL, '{}', ?, 'idle', 0, 0)`,
        sealedBefore,
      );
      expect(await sealStoredPassphrases(sql, now)).toBe(1);
      const row = sql
        .exec<{ id: string; srt_passphrase_sealed: string }>(
          "SELECT id, srt_passphrase_sealed FROM streams WHERE id = 'st_rotated'",
        )
        .one();
      expect(sealedKeyId(row.srt_passphrase_sealed)).toBe(now.currentKeyId);
      expect(await openPassphrase(now, row)).toBe('old passphrase 123');
      sql.exec("DELETE FROM streams WHERE id = 'st_rotated'");
    });
  });

  it('migrates a table from before: plaintext key columns dropped, plaintext passphrases sealed', async () => {
    const legacy = env.REGISTRY.get(env.REGISTRY.idFromName('legacy-migration'));
    await runInDurableObject(legacy, async (_o: StreamRegistry, state) => {
      const sql = state.storage.sql;
      // The table as it was before issue 16.
      sql.exec('DROP TABLE streams');
      sql.exec(`CREATE TABLE streams (id TEXT PRIMARY KEY, name TEXT NOT NULL, stream_key TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE, backup_key TEXT, backup_key_hash TEXT, config TEXT NOT NULL,
        srt_passphrase TEXT, status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        last_status_at INTEGER)`);
      sql.exec(`INSERT INTO streams VALUES ('st_legacy', 'old', 'sk_plain_primary', 'h1', 'sk_plain_backup', 'h2',
        '{}', 'legacy passphrase', 'idle', 0, 0, NULL)`);
      migrateStreamsTable(sql);
      const box = await SecretBox.fromEnv(env);
      expect(await sealStoredPassphrases(sql, box)).toBe(1);
      const row = sql
        .exec<Record<string, string | null>>("SELECT * FROM streams WHERE id = 'st_legacy'")
        .one();
      expect(Object.keys(row)).not.toContain('stream_key');
      expect(Object.keys(row)).not.toContain('backup_key');
      expect(Object.keys(row)).not.toContain('srt_passphrase');
      expect(JSON.stringify(row)).not.toContain('legacy passphrase');
      expect(row.key_hash).toBe('h1');
      expect(
        await openPassphrase(box, {
          id: 'st_legacy',
          srt_passphrase_sealed: row.srt_passphrase_sealed ?? null,
        }),
      ).toBe('legacy passphrase');
    });
  });
});
