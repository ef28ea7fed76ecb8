/**
 * The prefixes a stream object still has to empty in R2 (src/media/sweep.ts), kept in its SQLite storage so a
 * sweep goes on across restarts, and after the stream itself was deleted: its row is the tombstone that keeps
 * the object working until its media is gone (issue 15, retention and deletion).
 */
import { type SweepRun, sweepPrefix } from '../media/sweep.ts';

export type SweepReason =
  | 'stream-deleted'
  | 'recording-deleted'
  | 'recording-expired'
  | 'not-recorded'
  | 'standby-media';

export interface SweepJob {
  prefix: string;
  reason: SweepReason;
  /** Epoch ms the prefix was queued. */
  queuedAt: number;
  /** Epoch ms before which it is left alone (viewers may still be reading it); absent: at once. */
  dueAt?: number;
}

/** Keys deleted per alarm run: a few seconds of R2 calls, then the alarm comes back (SWEEP_PAUSE_MS). */
export const SWEEP_KEYS_PER_RUN = 10_000;
/** Between two runs of a long sweep: other deadlines and requests get the object in between. */
export const SWEEP_PAUSE_MS = 1_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS sweeps (prefix TEXT PRIMARY KEY, reason TEXT NOT NULL,
  queued_at INTEGER NOT NULL, due_at INTEGER NOT NULL DEFAULT 0)`;

export class SweepQueue {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  add(job: SweepJob): void {
    this.#sql.exec(
      'INSERT OR IGNORE INTO sweeps (prefix, reason, queued_at, due_at) VALUES (?, ?, ?, ?)',
      job.prefix,
      job.reason,
      job.queuedAt,
      job.dueAt ?? 0,
    );
  }

  jobs(): SweepJob[] {
    return this.#sql
      .exec<{ prefix: string; reason: SweepReason; queued_at: number; due_at: number }>(
        'SELECT prefix, reason, queued_at, due_at FROM sweeps ORDER BY due_at, queued_at, prefix',
      )
      .toArray()
      .map((r) => ({ prefix: r.prefix, reason: r.reason, queuedAt: r.queued_at, dueAt: r.due_at }));
  }

  get pending(): boolean {
    return this.#sql.exec('SELECT 1 FROM sweeps LIMIT 1').toArray().length > 0;
  }

  /**
   * One bounded run over the jobs due at `now`, oldest first. `more`: due work remains; `nextDue`: the epoch
   * ms the next job not yet due becomes due, or null.
   */
  async run(
    bucket: R2Bucket,
    now: number,
    maxKeys = SWEEP_KEYS_PER_RUN,
  ): Promise<{ deleted: number; more: boolean; nextDue: number | null }> {
    let deleted = 0;
    const jobs = this.jobs();
    const nextDue = jobs.find((j) => (j.dueAt ?? 0) > now)?.dueAt ?? null;
    for (const job of jobs.filter((j) => (j.dueAt ?? 0) <= now)) {
      if (deleted >= maxKeys) return { deleted, more: true, nextDue };
      const run: SweepRun = await sweepPrefix(bucket, job.prefix, maxKeys - deleted);
      deleted += run.deleted;
      if (!run.emptied) return { deleted, more: true, nextDue };
      this.#sql.exec('DELETE FROM sweeps WHERE prefix = ?', job.prefix);
    }
    return { deleted, more: false, nextDue };
  }
}
