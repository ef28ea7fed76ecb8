/**
 * One publishing session: listener -> demux events -> CMAF segmenter -> sink (Worker uploads), with one error
 * boundary. Anything that goes wrong inside (malformed media, an unsupported or changed codec, the Worker
 * refusing the session) ends this session with a reason through `onFatal`; it never throws into the listener
 * and never touches another stream.
 */
import type { SessionHealthReport } from '../../src/contract/health.ts';
import {
  type AuthorizeResponse,
  type IngestProtocol,
  type PartMeta,
  SOURCE_RENDITION,
  type StartSessionResponse,
  type StreamConfig,
} from '../../src/contract/ingest.ts';
import { CmafSegmenter, type SegmenterOutput } from './cmaf/segmenter.ts';
import { type LadderRuntime, SessionLadder } from './ladder/session-ladder.ts';
import { log, RateLimitedLog } from './log.ts';
import type { DemuxEvent } from './media/access-unit.ts';
import { counter, gauge } from './metrics.ts';
import { forgetStream, observeHealth } from './monitoring.ts';
import { HealthTracker } from './upload/health.ts';
import type { MediaSink } from './upload/sink.ts';
import { WorkerClient, WorkerRefused } from './upload/worker-client.ts';
import { WorkerSink } from './upload/worker-sink.ts';

const sessionsActive = gauge('relay_sessions_active', 'Publishing sessions open now', ['protocol']);
const sessionsFailed = counter('relay_sessions_failed_total', 'Sessions ended by the pipeline', ['reason']);
const partsProduced = counter('relay_parts_produced_total', 'CMAF parts cut by the segmenter');
const samplesDropped = counter('relay_samples_dropped_total', 'Access units the segmenter dropped', [
  'reason',
]);
const demuxErrors = counter('relay_demux_errors_total', 'Non-fatal demux errors reported by listeners', [
  'protocol',
]);

export interface PublishRequest {
  streamKey: string;
  protocol: IngestProtocol;
  remoteAddress: string;
}

export type PublishRefusedCode = 'unknown-key' | 'already-live' | 'unavailable' | 'bad-request';

export class PublishRefused extends Error {
  override readonly name = 'PublishRefused';
  readonly code: PublishRefusedCode;

  constructor(code: PublishRefusedCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface OpenOptions {
  /** Merged into every health report (e.g. SRT connection stats, container-level ingest bitrate). */
  extraHealth?: () => Partial<SessionHealthReport>;
}

export interface IngestHub {
  authorize(streamKey: string, protocol: IngestProtocol): Promise<AuthorizeResponse>;
  open(req: PublishRequest, options?: OpenOptions): Promise<PublishSession>;
}

export interface PublishSession {
  readonly streamId: string;
  readonly sessionId: string;
  readonly config: StreamConfig;
  /** False: over the upload budget; pause the source until `onDrain` fires. */
  push(ev: DemuxEvent): boolean;
  onDrain(cb: () => void): void;
  /** The pipeline gave up (unsupported codec, Worker refused): close the connection, then call `end`. */
  onFatal(cb: (reason: string) => void): void;
  /** Flushes the last part, waits for the uploads, ends the session at the Worker. Idempotent. */
  end(reason: string): Promise<void>;
}

export interface IngestHubOptions {
  workerUrl: string;
  ingestToken: string;
  relayId: string;
  /** Where media goes; default: a WorkerSink uploading to `workerUrl`. */
  sink?: (session: StartSessionResponse, client: WorkerClient) => MediaSink;
  /**
   * Where a ladder rung's media goes, one sink per rung (default: a WorkerSink that never ends the session, so a
   * rung's refusal or backlog fails that rung only). With `sink` given and this absent, rungs share `sink`.
   */
  rungSink?: (session: StartSessionResponse, client: WorkerClient, rendition: string) => MediaSink;
  /** Health report period, ms (default 2000). */
  healthIntervalMs?: number;
  /** Wall clock, epoch ms (default Date.now). */
  now?: () => number;
  /** How long an `already-live` refusal is retried before the publish is refused (ms, default 2500). */
  takeoverWaitMs?: number;
  /** The ABR ladder's ffmpeg and admission; absent: every session is its source only. */
  ladder?: LadderRuntime;
}

export function createIngestHub(opts: IngestHubOptions): IngestHub {
  const client = new WorkerClient({ workerUrl: opts.workerUrl, ingestToken: opts.ingestToken });
  return {
    authorize: (streamKey, protocol) => refusedOnError(() => client.authorize({ streamKey, protocol })),
    async open(req, options = {}) {
      const start = await refusedOnError(() =>
        startWaitingForTakeover(
          () => client.startSession({ ...req, relayId: opts.relayId }),
          opts.takeoverWaitMs ?? TAKEOVER_WAIT_MS,
        ),
      );
      const sink =
        opts.sink?.(start, client) ??
        new WorkerSink({ client, streamId: start.streamId, sessionId: start.sessionId });
      const rungSink = (rendition: string): MediaSink | undefined =>
        opts.rungSink?.(start, client, rendition) ??
        (opts.sink
          ? undefined
          : new WorkerSink({
              client,
              streamId: start.streamId,
              sessionId: start.sessionId,
              endsSession: false,
              budgetBytes: RUNG_BUDGET_BYTES,
            }));
      return new PipelineSession(req, start, sink, { ...options, ...opts, rungSink });
    },
  };
}

/**
 * How long a publish refused as `already-live` is retried (ms). A relay killed mid-stream never ends its
 * sessions; the encoder reconnecting through the restarted relay may arrive while the Worker still counts the
 * dead session as healthy (it has `failoverTimeout`, default 1.5 s, to deliver a part). Retrying past that lets
 * the Worker's stale-session takeover happen without the encoder having to retry; a rival that is really live
 * keeps delivering and the publish is still refused, only later.
 */
const TAKEOVER_WAIT_MS = 2500;
/** A rung's unacknowledged bytes (its sink fails the rung past four times this: 32 MiB). */
const RUNG_BUDGET_BYTES = 8 * 1024 * 1024;
const TAKEOVER_RETRY_MS = 250;

async function startWaitingForTakeover<T>(call: () => Promise<T>, waitMs: number): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const alreadyLive = err instanceof WorkerRefused && err.status === 409;
      if (!alreadyLive || Date.now() + TAKEOVER_RETRY_MS > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, TAKEOVER_RETRY_MS));
    }
  }
}

/** Maps the Worker's answer to why a publish is refused (RTMP and SRT listeners turn it into their rejections). */
async function refusedOnError<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkerRefused) {
      if (err.status === 404 || err.status === 403) throw new PublishRefused('unknown-key', err.message);
      if (err.status === 409) throw new PublishRefused('already-live', err.message);
      if (err.status === 400 || err.status === 422) throw new PublishRefused('bad-request', err.message);
    }
    throw new PublishRefused('unavailable', err instanceof Error ? err.message : String(err));
  }
}

class PipelineSession implements PublishSession {
  readonly streamId: string;
  readonly sessionId: string;
  readonly config: StreamConfig;
  readonly #req: PublishRequest;
  readonly #sink: MediaSink;
  readonly #segmenter: CmafSegmenter;
  readonly #ladder: SessionLadder;
  readonly #health: HealthTracker;
  readonly #now: () => number;
  readonly #extraHealth: (() => Partial<SessionHealthReport>) | undefined;
  readonly #logger;
  readonly #warn;
  #droppedReported = 0;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #fatalCbs: ((reason: string) => void)[] = [];
  #fatal: string | undefined;
  #ending: Promise<void> | undefined;
  #backpressure = false;
  /** What the source's init said about captions; `late` once captions showed up after an init without them. */
  #captions: 'unknown' | 'declared' | 'undeclared' | 'late' = 'unknown';

  constructor(
    req: PublishRequest,
    start: StartSessionResponse,
    sink: MediaSink,
    opts: OpenOptions &
      Pick<IngestHubOptions, 'healthIntervalMs' | 'now' | 'ladder'> & {
        rungSink: (rendition: string) => MediaSink | undefined;
      },
  ) {
    this.#req = req;
    this.streamId = start.streamId;
    this.sessionId = start.sessionId;
    this.config = start.config;
    this.#sink = sink;
    this.#now = opts.now ?? Date.now;
    this.#extraHealth = opts.extraHealth;
    this.#health = new HealthTracker(req.protocol, req.remoteAddress, this.#now());
    this.#logger = log.child({ streamId: this.streamId, sessionId: this.sessionId, protocol: req.protocol });
    this.#ladder = new SessionLadder({
      setting: start.config.ladder ?? 'passthrough',
      partTarget: start.config.partTarget,
      runtime: opts.ladder,
      sink,
      rungSink: opts.rungSink,
      logger: this.#logger,
    });
    this.#segmenter = new CmafSegmenter({
      partTarget: start.config.partTarget,
      segmentTarget: start.config.segmentTarget,
      firstMsn: start.firstMsn,
      onVideoSample: (sample, tracks) => this.#ladder.videoSample(sample, tracks),
    });
    this.#warn = new RateLimitedLog(this.#logger);
    sink.onFailed((err) => this.#fail('upload', err.message));
    sink.onDrain(() => {
      this.#backpressure = false;
    });
    this.#timer = setInterval(() => void this.#report(), opts.healthIntervalMs ?? 2000);
    this.#timer.unref();
    sessionsActive.inc({ protocol: req.protocol });
    this.#logger.info({ remoteAddress: req.remoteAddress, firstMsn: start.firstMsn }, 'session started');
  }

  push(ev: DemuxEvent): boolean {
    if (this.#fatal !== undefined || this.#ending) return true;
    try {
      if (ev.type === 'error') {
        if (ev.fatal) this.#fail('demux', `demux: ${ev.reason}`);
        else {
          demuxErrors.inc({ protocol: this.#req.protocol });
          this.#warn.warn({ reason: ev.reason }, 'demux error');
        }
        return true;
      }
      if (ev.type === 'ignored-track') {
        this.#health.ignoredTrack(ev.kind, ev.pid);
        this.#logger.warn({ kind: ev.kind, pid: ev.pid, streamType: ev.streamType }, 'input track ignored');
        return true;
      }
      if (ev.type === 'config') this.#health.config(ev.track);
      else {
        this.#health.unit(ev.unit);
        if (ev.unit.captions && this.#captions === 'undeclared') this.#lateCaptions();
      }
      this.#deliver(this.#segmenter.push(ev));
    } catch (err) {
      this.#fail('internal', `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
    return !this.#backpressure;
  }

  onDrain(cb: () => void): void {
    this.#sink.onDrain(cb);
  }

  onFatal(cb: (reason: string) => void): void {
    this.#fatalCbs.push(cb);
  }

  end(reason: string): Promise<void> {
    this.#ending ??= this.#end(reason);
    return this.#ending;
  }

  async #end(reason: string): Promise<void> {
    clearInterval(this.#timer);
    if (this.#fatal === undefined) {
      try {
        this.#deliver(this.#segmenter.flush());
      } catch (err) {
        this.#logger.error({ err: String(err) }, 'flush failed');
      }
    }
    await this.#ladder.end();
    await this.#report();
    const result = await this.#sink.end(this.#fatal ?? reason);
    const stats = this.#segmenter.stats;
    for (const [key, value] of Object.entries(stats))
      if (value > 0) samplesDropped.inc({ reason: key }, value);
    sessionsActive.dec({ protocol: this.#req.protocol });
    forgetStream(this.streamId, this.#req.protocol);
    this.#logger.info({ reason: this.#fatal ?? reason, ...result, ...stats }, 'session ended');
  }

  #deliver(outputs: SegmenterOutput[]): void {
    for (const out of outputs) {
      if (out.type === 'fatal') {
        this.#fail('codec', out.reason);
        return;
      }
      if (out.type === 'init') {
        const meta = {
          rendition: SOURCE_RENDITION,
          codecs: out.codecs,
          ...pick(out, ['resolution', 'frameRate', 'closedCaptions']),
        };
        if (out.closedCaptions !== undefined) this.#captions = out.closedCaptions ? 'declared' : 'undeclared';
        this.#logger.info(meta, 'init segment');
        this.#note(this.#sink.putInit(meta, out.bytes).backpressure);
        continue;
      }
      // The segmenter's part is the contract's PartMeta, less the rendition and size added here.
      const { type: _, bytes, media: _media, ...part } = out;
      const meta: PartMeta = { rendition: SOURCE_RENDITION, ...part, size: bytes.byteLength };
      partsProduced.inc();
      // Debug level: one line per part, with the wall clock it was cut (bench/rtmp-latency.ts reads these).
      this.#logger.debug({ msn: meta.msn, part: meta.part, cutAt: this.#now() }, 'part cut');
      this.#note(this.#sink.putPart(meta, bytes).backpressure);
      this.#ladder.sourcePart(out);
    }
    // The segmenter's counters are cumulative: warn only when they grow, not on every unit after the first drop.
    const s = this.#segmenter.stats;
    const dropped = s.droppedBeforeKeyframe + s.droppedNonMonotonic + s.droppedWithoutTrack;
    if (dropped > this.#droppedReported) {
      this.#droppedReported = dropped;
      this.#warn.warn({ ...s }, 'access units dropped by the segmenter');
    }
  }

  #note(backpressure: boolean): void {
    if (backpressure) this.#backpressure = true;
  }

  /** The init is made at the first keyframe (cmaf/start-gate.ts): captions that begin later are not declared. */
  #lateCaptions(): void {
    this.#captions = 'late';
    this.#logger.info(
      'captions began after the init segment: the playlist declares them from the next session',
    );
  }

  async #report(): Promise<void> {
    const report = {
      ...this.#health.report(this.#now(), this.#sink.stats),
      ladder: this.#ladder.health(),
      ...this.#extraHealth?.(),
    };
    observeHealth(this.streamId, report);
    try {
      await this.#sink.health(report);
    } catch (err) {
      // 410: the Worker no longer counts this session as publishing (taken over, or ended there); its uploads
      // would be refused too, so end it now rather than report into the void every interval.
      if (err instanceof WorkerRefused && err.status === 410)
        this.#fail('upload', `the Worker ended the session: ${err.message}`);
      else this.#warn.warn({ err: String(err) }, 'health report failed');
    }
  }

  /** `kind` is the low-cardinality metric label; `reason` the human text sent to the Worker and the logs. */
  #fail(kind: 'demux' | 'codec' | 'upload' | 'internal', reason: string): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = reason;
    sessionsFailed.inc({ reason: kind });
    this.#logger.warn({ reason }, 'session failed');
    for (const cb of this.#fatalCbs) cb(reason);
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
