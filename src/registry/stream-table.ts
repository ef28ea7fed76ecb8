/**
 * The `streams` table's migrations and its one sealed column. Issue 16 keeps stream keys only as hashes and
 * SRT passphrases only sealed (secrets.ts): a table from before loses its plaintext key columns when the
 * registry loads, and its plaintext passphrases are sealed then (or as soon as a SECRETS_KEY is configured).
 * Passphrases sealed by a key that has since been rotated out are resealed under the current key on load.
 */
import { BACKUP_KEY_INDEX, STREAMS_SCHEMA } from './record.ts';
import { type SecretBox, SecretError } from './secrets.ts';

export const srtPassphraseContext = (streamId: string) => `srt-passphrase:${streamId}`;

function columns(sql: SqlStorage): Set<string> {
  return new Set(
    sql
      .exec<{ name: string }>('PRAGMA table_info(streams)')
      .toArray()
      .map((c) => c.name),
  );
}

/** Synchronous part: schema, added columns, dropped plaintext key columns, indexes. */
export function migrateStreamsTable(sql: SqlStorage): void {
  sql.exec(STREAMS_SCHEMA);
  const have = columns(sql);
  if (!have.has('backup_key_hash')) sql.exec('ALTER TABLE streams ADD COLUMN backup_key_hash TEXT');
  if (!have.has('srt_passphrase_sealed'))
    sql.exec('ALTER TABLE streams ADD COLUMN srt_passphrase_sealed TEXT');
  // Plaintext stream keys (kept before issue 16 so GET could show them): the hashes beside them are all a
  // lookup needs, so they go at once, key material and column both.
  if (have.has('stream_key')) sql.exec('ALTER TABLE streams DROP COLUMN stream_key');
  if (have.has('backup_key')) sql.exec('ALTER TABLE streams DROP COLUMN backup_key');
  sql.exec(BACKUP_KEY_INDEX);
}

/**
 * Seals plaintext passphrases left from before issue 16 (then drops their column) and reseals those of a
 * rotated-out key. Without SECRETS_KEY nothing can be sealed: plaintext stays until a key is configured.
 * Returns how many rows changed.
 */
export async function sealStoredPassphrases(sql: SqlStorage, box: SecretBox): Promise<number> {
  if (!box.canSeal) return 0;
  let changed = 0;
  if (columns(sql).has('srt_passphrase')) {
    const rows = sql
      .exec<{ id: string; srt_passphrase: string }>(
        'SELECT id, srt_passphrase FROM streams WHERE srt_passphrase IS NOT NULL',
      )
      .toArray();
    for (const row of rows) {
      const sealed = await box.seal(row.srt_passphrase, srtPassphraseContext(row.id));
      sql.exec('UPDATE streams SET srt_passphrase_sealed = ? WHERE id = ?', sealed, row.id);
      changed++;
    }
    sql.exec('ALTER TABLE streams DROP COLUMN srt_passphrase');
  }
  const sealedRows = sql
    .exec<{ id: string; srt_passphrase_sealed: string }>(
      'SELECT id, srt_passphrase_sealed FROM streams WHERE srt_passphrase_sealed IS NOT NULL',
    )
    .toArray();
  for (const row of sealedRows) {
    if (!box.needsReseal(row.srt_passphrase_sealed)) continue;
    const context = srtPassphraseContext(row.id);
    try {
      const plain = await box.open(row.srt_passphrase_sealed, context);
      sql.exec(
        'UPDATE streams SET srt_passphrase_sealed = ? WHERE id = ?',
        await box.seal(plain, context),
        row.id,
      );
      changed++;
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      console.error('registry: cannot reseal the SRT passphrase of', row.id, err.message);
    }
  }
  return changed;
}

/** The row's passphrase in the clear: the sealed column opened, else a not-yet-sealed legacy value. */
export async function openPassphrase(
  box: SecretBox,
  row: { id: string; srt_passphrase_sealed: string | null; srt_passphrase?: string | null },
): Promise<string | null> {
  if (row.srt_passphrase_sealed) return box.open(row.srt_passphrase_sealed, srtPassphraseContext(row.id));
  return row.srt_passphrase ?? null;
}
