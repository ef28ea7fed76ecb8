/**
 * The one interface between the listeners (listen/rtmp, listen/srt) and the session layer (session.ts): ask
 * whether a key may publish, open a publish, push demux events into it, end it. `createIngestHub` in session.ts
 * is the implementation; listener tests pass recording hubs of the same shape.
 */
import type { SessionHealthReport } from '../../src/contract/health.ts';
import type { AuthorizeResponse, IngestProtocol, StreamConfig } from '../../src/contract/ingest.ts';
import type { DemuxEvent } from './media/access-unit.ts';

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
  /** The Worker session published into now (a codec config change moves the publish to a new one). */
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

/** Why `open()` failed: a PublishRefused's code, or `unavailable` when the Worker could not be asked at all. */
export function refusalOf(err: unknown): { code: PublishRefusedCode; message: string } {
  if (err instanceof PublishRefused) return { code: err.code, message: err.message };
  return { code: 'unavailable', message: err instanceof Error ? err.message : 'publish could not be opened' };
}
