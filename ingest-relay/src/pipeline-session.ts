/**
 * One Worker session (`se_…`) of a publish: demux events -> CMAF segmenter (and the ladder) -> sink (Worker
 * uploads), health reports on a timer, one error boundary. A publish runs one of these at a time; when the
 * source's codec config changes (a new resolution) the segmenter stops and this session reports it through
 * `onConfigChange`, so the publish (session.ts) can end it and go on in a new one.
 */
import type { SessionHealthReport } from '../../src/contract/health.ts';
import {
  type IngestProtocol,
  type PartMeta,
  SOURCE_RENDITION,
  type StartSessionResponse,
  type StreamConfig,
} from '../../src/contract/ingest.ts';
import { CmafSegmenter, type SegmenterOutput } from './cmaf/segmenter.ts';
import { type LadderRuntime, SessionLadder } from './ladder/session-ladder.ts';
import { log, RateLimitedLog } from './log.ts';
import type { DemuxEvent, TrackConfig } from './media/access-unit.ts';
import { counter, gauge } from './metrics.ts';
import { forgetStream, observeHealth } from './monitoring.ts';
import { HealthTracker } from './session-health.ts';
import { initMeta } from './upload/init-meta.ts';
import type { MediaSink } from './upload/sink.ts';
import { WorkerRefused } from './upload/worker-client.ts';

const sessionsActive = gauge('relay_sessions_active', 'Publishing sessions open now', ['protocol']);
const sessionsFailed = counter('relay_sessions_failed_total', 'Sessions ended by the pipeline', ['reason']);
const partsProduced = counter('relay_parts_produced_total', 'CMAF parts cut by the segmenter');
export const samplesDropped = counter('relay_samples_dropped_total', 'Access units the relay dropped', [
  'reason',
]);
const demuxErrors = counter('relay_demux_errors_total', 'Non-fatal demux errors reported by listeners', [
  'protocol',
]);

/** Who publishes: the listener's facts about the encoder's connection. */
export interface PipelineRequest {
  protocol: IngestProtocol;
  remoteAddress: string;
}

export interface PipelineOptions {
  /** Merged into every health report (e.g. SRT connection stats). */
  extraHealth?: () => Partial<SessionHealthReport>;
  /** Health report period, ms (default 2000). */
  healthIntervalMs?: number;
  /** Wall clock, epoch ms (default Date.now). */
  now?: () => number;
  ladder?: LadderRuntime;
  /** A ladder rung's own sink (session.ts makes one per rung); undefined: the rung shares the session's. */
  rungSink?: (rendition: string) => MediaSink | undefined;
}

/** A track's codec config changed under the running segmenter: this session has cut its last part. */
export interface ConfigChange {
  kind: TrackConfig['kind'];
  before: TrackConfig;
  after: TrackConfig;
}

export class PipelineSession {
  readonly streamId: string;
  readonly sessionId: string;
  readonly config: StreamConfig;
  readonly #req: PipelineRequest;
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
  #onConfigChange: ((change: ConfigChange) => void) | undefined;
  #configChanged = false;
  #fatal: string | undefined;
  #ending: Promise<void> | undefined;
  #backpressure = false;
  /** What the source's init said about captions; `late` once captions showed up after an init without them. */
  #captions: 'unknown' | 'declared' | 'undeclared' | 'late' = 'unknown';

  constructor(req: PipelineRequest, start: StartSessionResponse, sink: MediaSink, opts: PipelineOptions) {
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
      rungSink: opts.rungSink ?? (() => undefined),
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
      if (ev.type === 'unit') {
        this.#health.unit(ev.unit);
        if (ev.unit.captions && this.#captions === 'undeclared') this.#lateCaptions();
      }
      this.#deliver(this.#segmenter.push(ev));
      // A config that ended this session belongs to the next one's health, not to this one's last report.
      if (ev.type === 'config' && !this.#configChanged) this.#health.config(ev.track);
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

  /** The segmenter stopped on a changed config; the caller ends this session and starts the next. */
  onConfigChange(cb: (change: ConfigChange) => void): void {
    this.#onConfigChange = cb;
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
      if (out.type === 'config-changed') {
        this.#configChanged = true;
        this.#onConfigChange?.(out);
        return;
      }
      if (out.type === 'init') {
        // The ladder was decided on the first video sample, which came before this init: name its rungs.
        const renditions = this.#ladder.renditions();
        const meta = initMeta(SOURCE_RENDITION, out, { renditions });
        if (out.closedCaptions !== undefined) this.#captions = out.closedCaptions ? 'declared' : 'undeclared';
        this.#logger.info({ ...meta }, 'init segment');
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
  #fail(kind: 'demux' | 'upload' | 'internal', reason: string): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = reason;
    sessionsFailed.inc({ reason: kind });
    this.#logger.warn({ reason }, 'session failed');
    for (const cb of this.#fatalCbs) cb(reason);
  }
}
