/**
 * TS payloads of one SRT connection -> MPEG-TS demuxer -> the publish session. UDP cannot be paused, so
 * when the session pushes back (`push` returns false) events wait in a bounded queue until `onDrain`; past
 * the bound they are dropped and counted, and video resumes only at the next keyframe so no decoder ever
 * sees a unit whose references were dropped.
 */
import { TsDemuxer, type TsDemuxStats } from '../../demux/mpegts/demuxer.ts';
import type { PublishSession } from '../../ingest-hub.ts';
import type { DemuxEvent } from '../../media/access-unit.ts';

const MAX_QUEUED_EVENTS = 4096;

export class TsPublisher {
  readonly #session: PublishSession;
  readonly #demuxer = new TsDemuxer();
  readonly #queue: DemuxEvent[] = [];
  #blocked = false;
  #waitForKeyframe = false;
  #dropped = 0;
  #ended = false;

  constructor(session: PublishSession, onFatal: (reason: string) => void) {
    this.#session = session;
    session.onDrain(() => this.#drain());
    session.onFatal((reason) => onFatal(`session failed: ${reason}`));
  }

  get droppedEvents(): number {
    return this.#dropped;
  }

  demuxStats(): TsDemuxStats {
    return this.#demuxer.stats();
  }

  push(payload: Uint8Array, receivedAt: number): void {
    if (this.#ended) return;
    for (const ev of this.#demuxer.push(payload, receivedAt)) this.#offer(ev);
  }

  end(reason: string): void {
    if (this.#ended) return;
    for (const ev of this.#demuxer.flush()) this.#offer(ev);
    this.#ended = true;
    void this.#session.end(reason).catch(() => undefined);
  }

  #offer(ev: DemuxEvent): void {
    if (ev.type === 'unit' && ev.unit.kind === 'video' && this.#waitForKeyframe) {
      if (!ev.unit.keyframe) {
        this.#dropped++;
        return;
      }
      this.#waitForKeyframe = false;
    }
    if (!this.#blocked) {
      this.#blocked = !this.#session.push(ev);
      return;
    }
    if (this.#queue.length >= MAX_QUEUED_EVENTS && ev.type === 'unit') {
      this.#dropped++;
      if (ev.unit.kind === 'video') this.#waitForKeyframe = true;
      return;
    }
    this.#queue.push(ev);
  }

  #drain(): void {
    this.#blocked = false;
    while (this.#queue.length > 0 && !this.#blocked) {
      const ev = this.#queue.shift();
      if (ev) this.#blocked = !this.#session.push(ev);
    }
  }
}
