/**
 * Where the session's CMAF output goes. The Worker sink uploads it (ordered, pipelined, retried); the memory
 * sink records it for tests. Both take parts without waiting: `putPart` answers at once whether the sink is over
 * its byte budget, so the listener can pause its socket (back-pressure) instead of the sink dropping anything.
 */
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import type { PartMeta } from '../../../src/contract/ingest.ts';
import type { InitMeta } from './worker-client.ts';

export interface Enqueued {
  /** Bytes queued or in flight, not yet acknowledged. */
  bufferedBytes: number;
  /** True when over the byte budget: pause the source until `onDrain`. */
  backpressure: boolean;
}

export interface UploadStats {
  uploaded: number;
  retries: number;
  givenUp: number;
  /** Part complete -> acknowledged, milliseconds, since the last `takeLatencies()`. */
  takeLatencies(): number[];
}

export interface EndResult {
  uploaded: number;
  givenUp: number;
}

/** Why a sink gave up on the whole session (a 4xx from the Worker, a backlog past its hard limit). */
export class SinkFailed extends Error {
  override readonly name = 'SinkFailed';
  readonly code: 'refused' | 'timeline-break' | 'backlog';

  constructor(code: SinkFailed['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface MediaSink {
  putInit(meta: InitMeta, bytes: Uint8Array): Enqueued;
  putPart(meta: PartMeta, bytes: Uint8Array): Enqueued;
  /** Waits for every queued upload to be acknowledged or given up on, then ends the session. */
  end(reason: string): Promise<EndResult>;
  /** Sends one health report; failures are reported by the promise, never retried. */
  health(report: SessionHealthReport): Promise<void>;
  onDrain(cb: () => void): void;
  onFailed(cb: (err: SinkFailed) => void): void;
  readonly stats: UploadStats;
}
