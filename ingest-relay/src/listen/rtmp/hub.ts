/**
 * The part of the session layer (`../../session.ts`) the RTMP listener drives: open a publishing session,
 * push demuxed events into it, end it. Declared structurally here so the listener depends only on what it
 * uses; `IngestHub` and `PublishSession` from session.ts satisfy these types.
 */
import type { IngestProtocol, StreamConfig } from '../../../../src/contract/ingest.ts';
import type { DemuxEvent } from '../../media/access-unit.ts';

export interface PublishRequest {
  streamKey: string;
  protocol: IngestProtocol;
  /** "ip:port" of the encoder. */
  remoteAddress: string;
}

export interface PublishSessionPort {
  readonly streamId: string;
  readonly sessionId: string;
  readonly config: StreamConfig;
  /** False: over the high-water mark; stop reading until onDrain fires. */
  push(ev: DemuxEvent): boolean;
  onDrain(cb: () => void): void;
  onFatal(cb: (reason: string) => void): void;
  end(reason: string): Promise<void>;
}

export interface PublishHub {
  open(req: PublishRequest): Promise<PublishSessionPort>;
}

export type RefusalCode = 'unknown-key' | 'already-live' | 'unavailable' | 'bad-request';

const REFUSAL_CODES: readonly string[] = ['unknown-key', 'already-live', 'unavailable', 'bad-request'];

/**
 * Why `open()` failed: a `PublishRefused` (session.ts) carries its code; anything else means the Worker could
 * not be asked, which the encoder should treat as "try again later".
 */
export function publishRefusal(err: unknown): { code: RefusalCode; message: string } {
  if (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'string' &&
    REFUSAL_CODES.includes(err.code)
  ) {
    return { code: err.code as RefusalCode, message: err.message };
  }
  return { code: 'unavailable', message: err instanceof Error ? err.message : 'publish could not be opened' };
}
