/**
 * A small IngestHub for SRT tests: a table of known keys (with optional passphrases) and a record of every
 * session opened and every event pushed. Refusals use the hub's PublishRefused shape (`code`).
 */
import { type IngestHub, PublishRefused, type PublishSession } from '../../../ingest-relay/src/ingest-hub.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import type { AuthorizeResponse, IngestProtocol } from '../../../src/contract/ingest.ts';
import { DEFAULT_STREAM_CONFIG } from '../../../src/contract/stream-config.ts';

export interface RecordedSession extends PublishSession {
  readonly streamKey: string;
  readonly events: DemuxEvent[];
  ended: string | undefined;
}

export class RecordingHub implements IngestHub {
  readonly sessions: RecordedSession[] = [];
  readonly authorizations: string[] = [];
  readonly #keys: Map<string, string | null>;

  /** `keys`: stream key -> passphrase (null = unencrypted). */
  constructor(keys: Record<string, string | null>) {
    this.#keys = new Map(Object.entries(keys));
  }

  async authorize(streamKey: string, _protocol: IngestProtocol): Promise<AuthorizeResponse> {
    this.authorizations.push(streamKey);
    const passphrase = this.#keys.get(streamKey);
    if (passphrase === undefined) throw new PublishRefused('unknown-key', 'unknown-key');
    return {
      streamId: `st_${streamKey}`,
      config: DEFAULT_STREAM_CONFIG,
      srtPassphrase: passphrase,
      role: 'primary',
    };
  }

  /** What each open session would report as SRT health, read when the test asks. */
  readonly health = new Map<string, () => Partial<SessionHealthReport>>();

  async open(
    req: { streamKey: string; protocol: IngestProtocol; remoteAddress: string },
    options?: { extraHealth?: () => Partial<SessionHealthReport> },
  ): Promise<PublishSession> {
    if (!this.#keys.has(req.streamKey)) throw new PublishRefused('unknown-key', 'unknown-key');
    if (this.sessions.some((s) => s.streamKey === req.streamKey && s.ended === undefined)) {
      throw new PublishRefused('already-live', 'already-live');
    }
    const events: DemuxEvent[] = [];
    const session: RecordedSession = {
      streamKey: req.streamKey,
      streamId: `st_${req.streamKey}`,
      sessionId: `se_${this.sessions.length}`,
      config: DEFAULT_STREAM_CONFIG,
      events,
      ended: undefined,
      push: (ev) => {
        events.push(ev);
        return true;
      },
      onDrain: () => undefined,
      onFatal: () => undefined,
      end: async (reason) => {
        session.ended = reason;
      },
    };
    if (options?.extraHealth) this.health.set(req.streamKey, options.extraHealth);
    this.sessions.push(session);
    return session;
  }
}
