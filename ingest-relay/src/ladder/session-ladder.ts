/**
 * A session's side of the ladder: decides, at the source's first video sample, which rungs the session gets
 * (the config's ladder below the source's height, if the relay admits one more ladder), runs the Ladder and
 * uploads its rungs through the session's sink beside the source rendition.
 */
import type { LadderHealth } from '../../../src/contract/health.ts';
import type { PartMeta } from '../../../src/contract/ingest.ts';
import { type LadderSetting, resolveLadder } from '../../../src/contract/ladder.ts';
import type { MuxTrack } from '../cmaf/init-segment.ts';
import type { PartOutput } from '../cmaf/output.ts';
import type { Sample } from '../cmaf/sample-timing.ts';
import type { Logger } from '../log.ts';
import { counter } from '../metrics.ts';
import { initMeta } from '../upload/init-meta.ts';
import type { MediaSink } from '../upload/sink.ts';
import type { LadderAdmission } from './admission.ts';
import { Ladder, type RungOutput } from './ladder.ts';

const laddersRefused = counter('relay_ladders_refused_total', 'Inputs passed through without their ladder', [
  'reason',
]);
const rungGaps = counter('relay_rung_gap_parts_total', 'Rung parts published as gaps');

/** How the relay runs ladders (main.ts from the environment); absent: every session is passed through. */
export interface LadderRuntime {
  ffmpegPath: string;
  preset?: string;
  admission: LadderAdmission;
}

const EMPTY = new Uint8Array(0);

export class SessionLadder {
  readonly #setting: LadderSetting;
  readonly #partTarget: number;
  readonly #runtime: LadderRuntime | undefined;
  readonly #sink: MediaSink;
  readonly #rungSink: (rendition: string) => MediaSink | undefined;
  /** Each rung's own sink, when it has one (not the session's). */
  readonly #rungSinks = new Map<string, MediaSink>();
  /** Rungs whose uploads the Worker refused or that fell too far behind: no more uploads, health says why. */
  readonly #dead = new Map<string, string>();
  readonly #logger: Logger;
  #decided = false;
  #ladder: Ladder | undefined;
  #release: (() => void) | undefined;
  #health: LadderHealth = { state: 'passthrough', reason: 'no video yet', rungs: [] };

  constructor(o: {
    setting: LadderSetting;
    partTarget: number;
    runtime: LadderRuntime | undefined;
    sink: MediaSink;
    /** A rung's own sink; undefined: the rung shares the session's. */
    rungSink: (rendition: string) => MediaSink | undefined;
    logger: Logger;
  }) {
    this.#setting = o.setting;
    this.#partTarget = o.partTarget;
    this.#runtime = o.runtime;
    this.#sink = o.sink;
    this.#rungSink = o.rungSink;
    this.#logger = o.logger;
  }

  videoSample(sample: Sample, tracks: readonly MuxTrack[]): void {
    if (!this.#decided) this.#decide(tracks);
    this.#ladder?.videoSample(sample, tracks);
  }

  /** The rungs this session uploads (none before the decision, or without a ladder). */
  renditions(): string[] {
    return this.#ladder?.rungNames() ?? [];
  }

  sourcePart(part: PartOutput): void {
    this.#ladder?.sourcePart(part);
  }

  health(): LadderHealth {
    const h = this.#ladder?.health() ?? this.#health;
    if (this.#dead.size === 0) return h;
    const rungs = h.rungs.map((r) => {
      const why = this.#dead.get(r.id);
      return why === undefined ? r : { ...r, state: 'failed' as const, reason: why };
    });
    return { ...h, rungs };
  }

  /** After the source's last part: the rungs' last parts, their uploads drained, the ladder's CPU released. */
  async end(): Promise<void> {
    await this.#ladder?.end();
    this.#release?.();
    this.#release = undefined;
    await Promise.all([...this.#rungSinks.values()].map((sink) => sink.end('source ended')));
  }

  #decide(tracks: readonly MuxTrack[]): void {
    this.#decided = true;
    const video = tracks.find((t) => t.config.kind === 'video')?.config;
    if (video?.kind !== 'video') return;
    const source = { width: video.width, height: video.height, frameRate: video.frameRate };
    const rungs = resolveLadder(this.#setting, source);
    if (rungs.length === 0) {
      const why =
        this.#setting === 'passthrough'
          ? 'the stream asks for the source only'
          : 'no rung is below the source';
      this.#health = { state: 'passthrough', reason: why, rungs: [] };
      return;
    }
    if (!this.#runtime) {
      this.#health = {
        state: 'unavailable',
        reason: 'this relay runs without ffmpeg (no ladder)',
        rungs: [],
      };
      laddersRefused.inc({ reason: 'unavailable' });
      return;
    }
    const admitted = this.#runtime.admission.acquire();
    if (!admitted.ok) {
      this.#health = { state: 'no-capacity', reason: admitted.reason, rungs: [] };
      laddersRefused.inc({ reason: 'no-capacity' });
      this.#logger.warn({ reason: admitted.reason }, 'ladder refused: source only');
      return;
    }
    this.#release = admitted.release;
    this.#logger.info(
      { rungs: rungs.map((r) => `${r.name} ${r.width}x${r.height}@${r.videoBitrate}`) },
      'ladder started',
    );
    this.#ladder = new Ladder({
      rungs,
      partTarget: this.#partTarget,
      ffmpegPath: this.#runtime.ffmpegPath,
      preset: this.#runtime.preset,
      // As resolveLadder assumes: 30 fps when the SPS carries no timing.
      sourceFrameRate: video.frameRate ?? 30,
      logger: this.#logger,
      output: (rung, out) => this.#upload(rung.name, out),
    });
  }

  /**
   * A rung's output into its sink. Back-pressure from a rung never pauses the source: a rung whose uploads
   * cannot keep up fails alone (its sink gives up past its budget).
   */
  #upload(rendition: string, out: RungOutput): void {
    if (this.#dead.has(rendition)) return;
    const sink = this.#sinkOf(rendition);
    if (out.type === 'init') {
      const { init, bandwidth } = out;
      const meta = initMeta(rendition, init, { bandwidth });
      this.#logger.info({ ...meta }, 'rung init segment');
      sink.putInit(meta, init.bytes);
      return;
    }
    if (out.type === 'gap') {
      const { type: _, ...p } = out.part;
      rungGaps.inc();
      sink.putPart({ rendition, ...p, size: 0, gap: true }, EMPTY);
      return;
    }
    const { type: _, bytes, media: _media, ...p } = out.part;
    const meta: PartMeta = { rendition, ...p, size: bytes.byteLength };
    sink.putPart(meta, bytes);
  }

  #sinkOf(rendition: string): MediaSink {
    const existing = this.#rungSinks.get(rendition);
    if (existing) return existing;
    const own = this.#rungSink(rendition);
    if (!own) return this.#sink;
    own.onFailed((err) => {
      this.#dead.set(rendition, `uploads failed: ${err.message}`);
      this.#logger.warn(
        { rendition, err: err.message },
        'rung uploads failed: the rung stops, the source goes on',
      );
    });
    this.#rungSinks.set(rendition, own);
    return own;
  }
}
