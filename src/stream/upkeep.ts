/**
 * The stream object's housekeeping, out of its shell (stream-do.ts): the media sweep queue (sweep-queue.ts)
 * and recording retention, worked from the object's one alarm beside the stream's own deadlines
 * (scheduler.ts `sweepAlarm` never pushes those back).
 */
import { DEFAULT_STREAM_CONFIG } from '../contract/stream-config.ts';
import type { StreamRecordings } from '../recording/recordings.ts';
import { sweepAlarm } from './scheduler.ts';
import { SWEEP_PAUSE_MS, type SweepQueue } from './sweep-queue.ts';

/** Where the stream's current retentionDays is kept (storage kv). */
const RETENTION_KEY = 'retentionDays';

export interface UpkeepDeps {
  storage: DurableObjectStorage;
  bucket: R2Bucket;
  sweeps: SweepQueue;
  recordings: StreamRecordings;
  /** The shell's record of the alarm it set (its effect ports), shared with the stream's deadlines. */
  ports: { alarmAt: number | null };
  now: () => number;
}

export class StreamUpkeep {
  readonly #d: UpkeepDeps;

  constructor(deps: UpkeepDeps) {
    this.#d = deps;
  }

  /**
   * Days recordings are kept. It applies at once (config `retentionDays`): the API tells this object on every
   * change (src/api/streams.ts), and each event's start carries it too.
   */
  retentionDays(): number {
    return this.#d.storage.kv.get<number>(RETENTION_KEY) ?? DEFAULT_STREAM_CONFIG.retentionDays;
  }

  async setRetentionDays(days: number): Promise<void> {
    this.#d.storage.kv.put(RETENTION_KEY, days);
    await this.arm();
  }

  /** A new event's config: its retentionDays is the stream's now. */
  eventStarted(retentionDays: number | undefined): void {
    if (retentionDays !== undefined) this.#d.storage.kv.put(RETENTION_KEY, retentionDays);
  }

  /**
   * One alarm's bounded run: recordings past retention are forgotten (their media queued), then the queue is
   * worked, and the alarm comes back for what remains or falls due next.
   */
  async run(): Promise<void> {
    const { sweeps, recordings, now } = this.#d;
    const days = this.retentionDays();
    let more = recordings.expire(now(), days) > 0;
    let nextDue: number | null = null;
    if (sweeps.pending) {
      const run = await sweeps.run(this.#d.bucket, now());
      more ||= run.more;
      nextDue = run.nextDue;
    }
    const expiry = recordings.nextExpiry(days);
    if (expiry !== null && (nextDue === null || expiry < nextDue)) nextDue = expiry;
    const at = sweepAlarm(this.#d.ports.alarmAt, { more, nextDue }, now(), SWEEP_PAUSE_MS);
    if (at !== null) await this.#setAlarm(at);
  }

  /** Sets the alarm for work just queued (at once, or when it first falls due), unless one comes first. */
  async arm(): Promise<void> {
    const now = this.#d.now();
    const queued = this.#d.sweeps.jobs()[0];
    const expiry = this.#d.recordings.nextExpiry(this.retentionDays());
    const due = Math.min(
      queued ? (queued.dueAt ?? now) : Number.POSITIVE_INFINITY,
      expiry ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(due)) return;
    const at = Math.max(now, due);
    const current = this.#d.ports.alarmAt;
    if (current !== null && current > now && current <= at) return;
    await this.#setAlarm(at);
  }

  async #setAlarm(at: number): Promise<void> {
    this.#d.ports.alarmAt = at;
    await this.#d.storage.setAlarm(at);
  }
}
