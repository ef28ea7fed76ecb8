/**
 * Uploads one session's init and parts to the Worker: in order, pipelined, retried, with bounded memory.
 *
 * - Order: requests start in part order, up to `maxInFlight` at once; the Worker stores a part that arrives
 *   ahead of an earlier one as `pending` and commits in order, so pipelining never reorders the playlist.
 *   The init is a barrier: parts start only after it is acknowledged.
 * - Window: a part starts only within `maxInFlight` of the oldest one not yet acknowledged. A part acknowledged
 *   as `pending` frees no room while an earlier one waits in a retry's backoff, so however long the retry
 *   (a Worker restart), the Worker's held parts never pass its PENDING_WINDOW, which would end the session.
 * - Retries: network errors, timeouts and 5xx are retried with exponential backoff and jitter until
 *   `retryDeadlineMs` after the first attempt; then the part is given up on, counted and logged (never
 *   silently). A 4xx is never retried: a 409 (timeline break), 410 (session gone) or any other refusal ends
 *   the session through `onFailed`.
 * - Memory: bytes not yet acknowledged are counted; past `budgetBytes` every put answers `backpressure` and
 *   the source should pause until `onDrain` (below half the budget). Past four budgets the session fails.
 */
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import { type PartMeta, PENDING_WINDOW } from '../../../src/contract/ingest.ts';
import { type Logger, log } from '../log.ts';
import { counter, histogram } from '../metrics.ts';
import { type EndResult, type Enqueued, type MediaSink, SinkFailed, type UploadStats } from './sink.ts';
import { type InitMeta, type WorkerClient, WorkerRefused } from './worker-client.ts';

const partsUploaded = counter('relay_parts_uploaded_total', 'Parts acknowledged by the Worker');
const partsGivenUp = counter('relay_parts_given_up_total', 'Parts given up on after the retry deadline');
const uploadRetries = counter(
  'relay_upload_retries_total',
  'Upload requests retried (5xx, network, timeout)',
);
const uploadLatency = histogram(
  'relay_upload_latency_seconds',
  'Part complete at the relay to acknowledged by the Worker',
  [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
);

export interface WorkerSinkOptions {
  client: WorkerClient;
  streamId: string;
  sessionId: string;
  maxInFlight?: number;
  budgetBytes?: number;
  retryDeadlineMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  /**
   * `end()` ends the session at the Worker (default true). A ladder rung's sink (one per rendition, so a rung's
   * refusal or backlog never fails the source's uploads) only drains.
   */
  endsSession?: boolean;
}

interface Job {
  /** Order of enqueueing: the window is counted in these. */
  seq: number;
  label: string;
  bytes: Uint8Array;
  enqueuedAt: number;
  send: () => Promise<unknown>;
  isInit: boolean;
}

export class WorkerSink implements MediaSink {
  readonly #o: Required<Omit<WorkerSinkOptions, 'logger'>> & { logger: Logger };
  readonly #queue: Job[] = [];
  #inFlight = 0;
  #nextSeq = 0;
  /** Sequence numbers of the jobs started and not finished; the first is the oldest (jobs start in order). */
  readonly #running: number[] = [];
  #initPending = 0;
  #buffered = 0;
  #backpressure = false;
  #failed: SinkFailed | undefined;
  #latencies: number[] = [];
  #idle: (() => void)[] = [];
  readonly #drain: (() => void)[] = [];
  readonly #fail: ((err: SinkFailed) => void)[] = [];
  readonly stats: UploadStats;

  constructor(options: WorkerSinkOptions) {
    this.#o = {
      // Never more than the Worker holds ahead of the part it expects (the window below keeps to it).
      maxInFlight: Math.min(4, PENDING_WINDOW),
      budgetBytes: 32 * 1024 * 1024,
      retryDeadlineMs: 30_000,
      backoffBaseMs: 100,
      backoffMaxMs: 2_000,
      now: () => performance.now(),
      random: Math.random,
      logger: log,
      endsSession: true,
      ...options,
    };
    this.stats = {
      uploaded: 0,
      retries: 0,
      givenUp: 0,
      takeLatencies: () => {
        const taken = this.#latencies;
        this.#latencies = [];
        return taken;
      },
    };
  }

  putInit(meta: InitMeta, bytes: Uint8Array): Enqueued {
    const { client, streamId, sessionId } = this.#o;
    this.#initPending++;
    return this.#enqueue({
      label: `init ${meta.rendition}`,
      bytes,
      enqueuedAt: this.#o.now(),
      isInit: true,
      send: () => client.putInit(streamId, sessionId, meta, bytes),
    });
  }

  putPart(meta: PartMeta, bytes: Uint8Array): Enqueued {
    const { client, streamId, sessionId } = this.#o;
    return this.#enqueue({
      label: `part ${meta.rendition} ${meta.msn}.${meta.part}`,
      bytes,
      enqueuedAt: this.#o.now(),
      isInit: false,
      send: () => client.putPart(streamId, sessionId, meta, bytes),
    });
  }

  async end(reason: string): Promise<EndResult> {
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      if (this.#failed) break;
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    const abandoned = this.#queue.splice(0);
    if (abandoned.length > 0) this.#giveUp(abandoned.length, 'session failed before upload');
    const { client, streamId, sessionId } = this.#o;
    if (!this.#o.endsSession) return { uploaded: this.stats.uploaded, givenUp: this.stats.givenUp };
    try {
      await this.#retrying('end', () => client.endSession(streamId, sessionId, reason));
    } catch (err) {
      this.#o.logger.warn(
        { streamId, sessionId, err: String(err) },
        'ending the session at the Worker failed',
      );
    }
    return { uploaded: this.stats.uploaded, givenUp: this.stats.givenUp };
  }

  health(report: SessionHealthReport): Promise<void> {
    return this.#o.client.reportHealth(this.#o.streamId, this.#o.sessionId, report);
  }

  onDrain(cb: () => void): void {
    this.#drain.push(cb);
  }

  onFailed(cb: (err: SinkFailed) => void): void {
    this.#fail.push(cb);
  }

  #enqueue(unnumbered: Omit<Job, 'seq'>): Enqueued {
    const job = { ...unnumbered, seq: this.#nextSeq++ };
    if (this.#failed) return { bufferedBytes: this.#buffered, backpressure: true };
    this.#queue.push(job);
    this.#buffered += job.bytes.byteLength;
    if (this.#buffered > this.#o.budgetBytes) this.#backpressure = true;
    if (this.#buffered > 4 * this.#o.budgetBytes) {
      this.#failWith(
        new SinkFailed('backlog', `upload backlog of ${this.#buffered} bytes: the Worker is too slow`),
      );
    }
    this.#pump();
    return { bufferedBytes: this.#buffered, backpressure: this.#backpressure };
  }

  #pump(): void {
    while (!this.#failed && this.#inFlight < this.#o.maxInFlight && this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (!next.isInit && this.#initPending > 0 && this.#inFlight > 0) return; // init is a barrier
      const oldest = this.#running[0];
      if (oldest !== undefined && next.seq - oldest >= this.#o.maxInFlight) return;
      this.#queue.shift();
      this.#inFlight++;
      this.#running.push(next.seq);
      void this.#run(next);
    }
  }

  async #run(job: Job): Promise<void> {
    try {
      await this.#retrying(job.label, job.send);
      if (!job.isInit) {
        this.stats.uploaded++;
        partsUploaded.inc();
        const ms = this.#o.now() - job.enqueuedAt;
        this.#latencies.push(ms);
        uploadLatency.observe(ms / 1000);
      }
    } catch (err) {
      if (err instanceof WorkerRefused) {
        const code = err.status === 409 ? 'timeline-break' : 'refused';
        this.#failWith(new SinkFailed(code, err.message));
      } else if (!job.isInit) {
        this.#giveUp(1, `${job.label}: ${String(err)}`);
      } else {
        this.#failWith(new SinkFailed('refused', `${job.label} could not be uploaded: ${String(err)}`));
      }
    } finally {
      if (job.isInit) this.#initPending--;
      this.#inFlight--;
      this.#running.splice(this.#running.indexOf(job.seq), 1);
      this.#buffered -= job.bytes.byteLength;
      if (this.#backpressure && this.#buffered <= this.#o.budgetBytes / 2) {
        this.#backpressure = false;
        for (const cb of this.#drain) cb();
      }
      this.#pump();
      if (this.#queue.length === 0 || this.#failed) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Runs `send` until it succeeds, a 4xx refuses it, or the retry deadline passes (then rethrows). */
  async #retrying(label: string, send: () => Promise<unknown>): Promise<void> {
    const deadline = this.#o.now() + this.#o.retryDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await send();
        return;
      } catch (err) {
        if (err instanceof WorkerRefused || this.#failed) throw err;
        const ceiling = Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** attempt);
        const delay = ceiling * (0.5 + 0.5 * this.#o.random()); // "equal jitter"
        if (this.#o.now() + delay > deadline) throw err;
        this.stats.retries++;
        uploadRetries.inc();
        this.#o.logger.debug({ label, attempt, delay, err: String(err) }, 'upload retry');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  #giveUp(count: number, reason: string): void {
    this.stats.givenUp += count;
    partsGivenUp.inc(count);
    this.#o.logger.error(
      { streamId: this.#o.streamId, sessionId: this.#o.sessionId, count, reason },
      'parts given up',
    );
  }

  #failWith(err: SinkFailed): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#o.logger.error(
      { streamId: this.#o.streamId, sessionId: this.#o.sessionId, err: err.message },
      'upload failed',
    );
    for (const cb of this.#fail) cb(err);
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
