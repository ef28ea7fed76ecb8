/**
 * The prefixes a stream object still has to empty in R2 (src/media/sweep.ts), kept in its SQLite storage so a
 * sweep goes on across restarts, and after the stream itself was deleted: its row is the tombstone that keeps
 * the object working until its media is gone (issue 15, retention and deletion).
 */
import { type SweepRun, sweepPrefix } from '../media/sweep.ts';

export type SweepReason = 'stream-deleted';

export interface SweepJob {
  prefix: string;
  reason: SweepReason;
  /** Epoch ms the prefix was queued. */
  queuedAt: number;
}

/** Keys deleted per alarm run: a few seconds of R2 calls, then the alarm comes back (SWEEP_PAUSE_MS). */
export const SWEEP_KEYS_PER_RUN = 10_000;
/** Between two runs of a long sweep: other deadlines and requests get the object in between. */
export const SWEEP_PAUSE_MS = 1_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS sweeps (prefix TEXT PRIMARY KEY, reason TEXT NOT NULL,
  queued_at INTEGER NOT NULL)`;

export class SweepQueue {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  add(job: SweepJob): void {
    this.#sql.exec(
      'INSERT OR IGNORE INTO sweeps (prefix, reason, queued_at) VALUES (?, ?, ?)',
      job.prefix,
      job.reason,
      job.queuedAt,
    );
  }

  jobs(): SweepJob[] {
    return this.#sql
      .exec<{ prefix: string; reason: SweepReason; queued_at: number }>(
        'SELECT prefix, reason, queued_at FROM sweeps ORDER BY queued_at, prefix',
      )
      .toArray()
      .map((r) => ({ prefix: r.prefix, reason: r.reason, queuedAt: r.queued_at }));
  }

  get pending(): boolean {
    return this.#sql.exec('SELECT 1 FROM sweeps LIMIT 1').toArray().length > 0;
  }

  /** One bounded run over the queue, oldest first; true when work remains. */
  async run(bucket: R2Bucket, maxKeys = SWEEP_KEYS_PER_RUN): Promise<{ deleted: number; more: boolean }> {
    let deleted = 0;
    for (const job of this.jobs()) {
      if (deleted >= maxKeys) return { deleted, more: true };
      const run: SweepRun = await sweepPrefix(bucket, job.prefix, maxKeys - deleted);
      deleted += run.deleted;
      if (!run.emptied) return { deleted, more: true };
      this.#sql.exec('DELETE FROM sweeps WHERE prefix = ?', job.prefix);
    }
    return { deleted, more: false };
  }
}
