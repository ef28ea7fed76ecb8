/** A sink that records everything, in order (for tests of the segmenter and session pipeline). */
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import type { PartMeta } from '../../../src/contract/ingest.ts';
import type { EndResult, Enqueued, MediaSink, SinkFailed, UploadStats } from './sink.ts';
import type { InitMeta } from './worker-client.ts';

export class MemorySink implements MediaSink {
  readonly inits: { meta: InitMeta; bytes: Uint8Array }[] = [];
  readonly parts: { meta: PartMeta; bytes: Uint8Array }[] = [];
  readonly healthReports: SessionHealthReport[] = [];
  ended: string | undefined;
  #uploaded = 0;
  readonly stats: UploadStats = {
    uploaded: 0,
    retries: 0,
    givenUp: 0,
    takeLatencies: () => [],
  };

  putInit(meta: InitMeta, bytes: Uint8Array): Enqueued {
    this.inits.push({ meta, bytes });
    return { bufferedBytes: 0, backpressure: false };
  }

  putPart(meta: PartMeta, bytes: Uint8Array): Enqueued {
    this.parts.push({ meta, bytes });
    this.stats.uploaded = ++this.#uploaded;
    return { bufferedBytes: 0, backpressure: false };
  }

  async end(reason: string): Promise<EndResult> {
    this.ended = reason;
    return { uploaded: this.#uploaded, givenUp: 0 };
  }

  async health(report: SessionHealthReport): Promise<void> {
    this.healthReports.push(report);
  }

  onDrain(_cb: () => void): void {}

  onFailed(_cb: (err: SinkFailed) => void): void {}
}
