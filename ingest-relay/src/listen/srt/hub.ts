/**
 * What the SRT listener needs from the relay's session layer. `ingest-relay/src/session.ts`'s IngestHub and
 * PublishSession satisfy these structurally; tests pass a small recording hub.
 */
import type { SessionHealthReport } from '../../../../src/contract/health.ts';
import type { AuthorizeResponse, IngestProtocol } from '../../../../src/contract/ingest.ts';
import type { DemuxEvent } from '../../media/access-unit.ts';
import { RejectX } from './stream-id.ts';

export interface SrtPublishSession {
  readonly streamId: string;
  readonly sessionId: string;
  push(ev: DemuxEvent): boolean;
  onDrain(cb: () => void): void;
  onFatal(cb: (reason: string) => void): void;
  end(reason: string): Promise<void>;
}

export interface SrtIngestHub {
  authorize(streamKey: string, protocol: IngestProtocol): Promise<AuthorizeResponse>;
  /** `extraHealth`: the SRT connection's stats, merged into the session's health reports. */
  open(
    req: { streamKey: string; protocol: IngestProtocol; remoteAddress: string },
    options?: { extraHealth?: () => Partial<SessionHealthReport> },
  ): Promise<SrtPublishSession>;
}

/** The `code` of a PublishRefused thrown by the hub, read without importing the class. */
export function refusalCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Maps a hub refusal to an SRT_REJX_* code (libsrt access-control: HTTP-like codes plus 1000). */
export function refusalFor(err: unknown): { code: number; reason: string } {
  const code = refusalCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'unknown-key':
      return { code: RejectX.notFound, reason: 'unknown stream key' };
    case 'already-live':
      return { code: RejectX.conflict, reason: 'stream already live' };
    case 'bad-request':
      return { code: RejectX.badRequest, reason: message };
    case 'unavailable':
      return { code: RejectX.unavailable, reason: message };
    default:
      return { code: RejectX.internalError, reason: message };
  }
}
