/**
 * One encoder's publish as the listener holds it (`PublishSession`): the Worker session it publishes into now
 * (pipeline-session.ts), and the move to the next one when the source's codec config changes mid-event (issue
 * 12, ingest rules: a new resolution). An init segment holds one config per track, so the session whose config
 * changed cuts its last part and ends (`codec configuration changed`); a new session starts for the same stream
 * key and protocol at the unit that carries the new config (the new segmenter's start gate waits for its
 * keyframe), with a new init and a new ladder. The Worker's reconnect path puts EXT-X-DISCONTINUITY between them.
 *
 * The encoder's connection stays open. While the next session starts, `push` answers false (the listener
 * pauses) and what still arrives is held, bounded like the SRT publisher's queue: units past the bound are
 * dropped and counted, and video then resumes at a keyframe. A source that changes config more than
 * `MAX_RESTARTS` times a minute ends the publish instead (each change is a Worker session).
 */
import type { StartSessionResponse, StreamConfig } from '../../src/contract/ingest.ts';
import type { PublishSession } from './ingest-hub.ts';
import { log } from './log.ts';
import type { DemuxEvent, TrackKind } from './media/access-unit.ts';
import { type ConfigChange, type PipelineSession, samplesDropped } from './pipeline-session.ts';

export const CONFIG_CHANGED = 'codec configuration changed';

/** Events held while the next session starts; past this many, units are dropped. */
const MAX_HELD_EVENTS = 4096;
/** Session moves allowed in one minute before the publish ends. */
const MAX_RESTARTS = 5;

export interface PublishDeps {
  /** Starts the next Worker session of this publish (the hub's call, with its takeover wait). */
  startSession: () => Promise<StartSessionResponse>;
  /** The pipeline of one Worker session. */
  pipeline: (start: StartSessionResponse) => PipelineSession;
  /** Wall clock, epoch ms. */
  now: () => number;
}

/** What waits for the next session: the events, and whether video units past the bound were dropped. */
interface Held {
  events: DemuxEvent[];
  videoGap: boolean;
}

export class Publish implements PublishSession {
  readonly streamId: string;
  readonly #deps: PublishDeps;
  readonly #drainCbs: (() => void)[] = [];
  readonly #fatalCbs: ((reason: string) => void)[] = [];
  /** What the current session has been told: each track's latest config, the tracks left out. */
  readonly #configs = new Map<TrackKind, DemuxEvent>();
  readonly #ignored: DemuxEvent[] = [];
  #current: PipelineSession;
  /** Set while the next session starts: the events that wait for it. */
  #held: Held | undefined;
  #restarting: Promise<void> | undefined;
  #restartTimes: number[] = [];
  /** Video units were dropped: video waits for a keyframe. */
  #videoGap = false;
  #fatal: string | undefined;
  #ending: Promise<void> | undefined;

  constructor(first: StartSessionResponse, deps: PublishDeps) {
    this.streamId = first.streamId;
    this.#deps = deps;
    this.#current = this.#open(first);
  }

  get sessionId(): string {
    return this.#current.sessionId;
  }

  get config(): StreamConfig {
    return this.#current.config;
  }

  push(ev: DemuxEvent): boolean {
    if (this.#fatal !== undefined || this.#ending) return true;
    if (this.#held) {
      this.#hold(this.#held, ev);
      return false;
    }
    return this.#forward(ev) && this.#heldNow() === undefined; // this event may have started a move
  }

  onDrain(cb: () => void): void {
    this.#drainCbs.push(cb);
  }

  onFatal(cb: (reason: string) => void): void {
    this.#fatalCbs.push(cb);
  }

  end(reason: string): Promise<void> {
    this.#ending ??= this.#end(reason);
    return this.#ending;
  }

  async #end(reason: string): Promise<void> {
    while (this.#restarting) await this.#restarting;
    await this.#current.end(reason);
  }

  #open(start: StartSessionResponse): PipelineSession {
    const p = this.#deps.pipeline(start);
    const current = () => p === this.#current && this.#held === undefined;
    p.onDrain(() => {
      if (current()) this.#drained();
    });
    p.onFatal((reason) => {
      if (current()) this.#fail(reason);
    });
    p.onConfigChange((change) => {
      if (current()) this.#configChanged(change);
    });
    return p;
  }

  /** Into the current session; remembers what a next session must be told first. */
  #forward(ev: DemuxEvent): boolean {
    if (ev.type === 'unit' && ev.unit.kind === 'video' && this.#videoGap) {
      if (!ev.unit.keyframe) return this.#drop(ev);
      this.#videoGap = false;
    }
    if (ev.type === 'config') this.#configs.set(ev.track.kind, ev);
    if (ev.type === 'ignored-track') this.#ignored.push(ev);
    return this.#current.push(ev);
  }

  #hold(held: Held, ev: DemuxEvent): void {
    if (ev.type !== 'unit' || held.events.length < MAX_HELD_EVENTS) {
      held.events.push(ev);
      return;
    }
    // Full: the units after the held ones are lost, so video after them must start at a keyframe.
    if (ev.unit.kind === 'video') held.videoGap = true;
    samplesDropped.inc({ reason: 'heldForNextSession' });
  }

  #drop(ev: DemuxEvent & { type: 'unit' }): boolean {
    if (ev.unit.kind === 'video') this.#videoGap = true;
    samplesDropped.inc({ reason: 'heldForNextSession' });
    return true;
  }

  #configChanged(change: ConfigChange): void {
    const now = this.#deps.now();
    this.#restartTimes = [...this.#restartTimes.filter((t) => now - t < 60_000), now];
    if (this.#restartTimes.length > MAX_RESTARTS) {
      this.#fail(`${CONFIG_CHANGED} more than ${MAX_RESTARTS} times a minute`);
      return;
    }
    log.info(
      { streamId: this.streamId, sessionId: this.sessionId, ...describe(change) },
      `${CONFIG_CHANGED}: moving to a new session`,
    );
    // The new session is told the tracks as they are now (the new config included), then what arrives.
    this.#held = { events: [...this.#ignored, ...this.#configs.values()], videoGap: false };
    this.#ignored.length = 0;
    this.#configs.clear();
    const restart = this.#restart(this.#current).finally(() => {
      if (this.#restarting === restart) this.#restarting = undefined;
    });
    this.#restarting = restart;
  }

  async #restart(previous: PipelineSession): Promise<void> {
    await previous.end(CONFIG_CHANGED);
    let start: StartSessionResponse;
    try {
      start = await this.#deps.startSession();
    } catch (err) {
      this.#held = undefined;
      const why = err instanceof Error ? err.message : String(err);
      this.#fail(`${CONFIG_CHANGED}; the next session could not start: ${why}`);
      return;
    }
    const held = this.#held ?? { events: [], videoGap: false };
    this.#held = undefined;
    this.#current = this.#open(start);
    let flowing = true;
    for (const [i, ev] of held.events.entries()) {
      const next = this.#heldNow();
      if (next !== undefined) {
        // The config changed again among the held events: the session after this one takes the rest.
        for (const rest of held.events.slice(i)) this.#hold(next, rest);
        next.videoGap ||= held.videoGap;
        return;
      }
      flowing = this.#forward(ev);
    }
    this.#videoGap ||= held.videoGap;
    if (flowing && this.#heldNow() === undefined) this.#drained();
  }

  /** The events held now (read through a call: a replayed event may start another move). */
  #heldNow(): Held | undefined {
    return this.#held;
  }

  #drained(): void {
    for (const cb of this.#drainCbs) cb();
  }

  #fail(reason: string): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = reason;
    for (const cb of this.#fatalCbs) cb(reason);
  }
}

/** For the log: what changed, e.g. `320x180 avc1.64000d` -> `480x270 avc1.640015`. */
function describe(change: ConfigChange): Record<string, unknown> {
  const facts = (c: ConfigChange['before']) =>
    c.kind === 'video' ? `${c.width}x${c.height} ${c.codecString}` : `${c.sampleRate} Hz ${c.codecString}`;
  return { track: change.kind, before: facts(change.before), after: facts(change.after) };
}
