/**
 * The session layer the listeners drive: authorize a publish, open it, push demux events into it, end it.
 * A publish (publish.ts) runs one Worker session at a time (pipeline-session.ts: demux events -> CMAF
 * segmenter -> sink, one error boundary) and moves to a new one when the source's codec config changes.
 * Anything else that goes wrong inside (malformed media, an unsupported codec, the Worker refusing the session)
 * ends the publish with a reason through `onFatal`; it never throws into the listener and never touches another
 * stream.
 */
import type { SessionHealthReport } from '../../src/contract/health.ts';
import type {
  AuthorizeResponse,
  IngestProtocol,
  StartSessionResponse,
  StreamConfig,
} from '../../src/contract/ingest.ts';
import type { LadderRuntime } from './ladder/session-ladder.ts';
import type { DemuxEvent } from './media/access-unit.ts';
import { PipelineSession } from './pipeline-session.ts';
import { Publish } from './publish.ts';
import type { MediaSink } from './upload/sink.ts';
import { WorkerClient, WorkerRefused } from './upload/worker-client.ts';
import { WorkerSink } from './upload/worker-sink.ts';

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

export interface IngestHubOptions {
  workerUrl: string;
  ingestToken: string;
  relayId: string;
  /** Where media goes; default: a WorkerSink uploading to `workerUrl`. */
  sink?: (session: StartSessionResponse, client: WorkerClient) => MediaSink;
  /**
   * Where a ladder rung's media goes, one sink per rung (default: a WorkerSink that never ends the session, so a
   * rung's refusal or backlog fails that rung only). With `sink` given and this absent, rungs share `sink`.
   */
  rungSink?: (session: StartSessionResponse, client: WorkerClient, rendition: string) => MediaSink;
  /** Health report period, ms (default 2000). */
  healthIntervalMs?: number;
  /** Wall clock, epoch ms (default Date.now). */
  now?: () => number;
  /** How long an `already-live` refusal is retried before the publish is refused (ms, default 2500). */
  takeoverWaitMs?: number;
  /** The ABR ladder's ffmpeg and admission; absent: every session is its source only. */
  ladder?: LadderRuntime;
}

export function createIngestHub(opts: IngestHubOptions): IngestHub {
  const client = new WorkerClient({ workerUrl: opts.workerUrl, ingestToken: opts.ingestToken });
  return {
    authorize: (streamKey, protocol) => refusedOnError(() => client.authorize({ streamKey, protocol })),
    async open(req, options = {}) {
      const startSession = () =>
        refusedOnError(() =>
          startWaitingForTakeover(
            () => client.startSession({ ...req, relayId: opts.relayId }),
            opts.takeoverWaitMs ?? TAKEOVER_WAIT_MS,
          ),
        );
      const pipeline = (start: StartSessionResponse) => {
        const sink =
          opts.sink?.(start, client) ??
          new WorkerSink({ client, streamId: start.streamId, sessionId: start.sessionId });
        const rungSink = (rendition: string): MediaSink | undefined =>
          opts.rungSink?.(start, client, rendition) ??
          (opts.sink
            ? undefined
            : new WorkerSink({
                client,
                streamId: start.streamId,
                sessionId: start.sessionId,
                endsSession: false,
                budgetBytes: RUNG_BUDGET_BYTES,
              }));
        return new PipelineSession(req, start, sink, { ...options, ...opts, rungSink });
      };
      return new Publish(await startSession(), { startSession, pipeline, now: opts.now ?? Date.now });
    },
  };
}

/**
 * How long a publish refused as `already-live` is retried (ms). A relay killed mid-stream never ends its
 * sessions; the encoder reconnecting through the restarted relay may arrive while the Worker still counts the
 * dead session as healthy (it has `failoverTimeout`, default 1.5 s, to deliver a part). Retrying past that lets
 * the Worker's stale-session takeover happen without the encoder having to retry; a rival that is really live
 * keeps delivering and the publish is still refused, only later.
 */
const TAKEOVER_WAIT_MS = 2500;
/** A rung's unacknowledged bytes (its sink fails the rung past four times this: 32 MiB). */
const RUNG_BUDGET_BYTES = 8 * 1024 * 1024;
const TAKEOVER_RETRY_MS = 250;

async function startWaitingForTakeover<T>(call: () => Promise<T>, waitMs: number): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const alreadyLive = err instanceof WorkerRefused && err.status === 409;
      if (!alreadyLive || Date.now() + TAKEOVER_RETRY_MS > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, TAKEOVER_RETRY_MS));
    }
  }
}

/** Maps the Worker's answer to why a publish is refused (RTMP and SRT listeners turn it into their rejections). */
async function refusedOnError<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkerRefused) {
      if (err.status === 404 || err.status === 403) throw new PublishRefused('unknown-key', err.message);
      if (err.status === 409) throw new PublishRefused('already-live', err.message);
      if (err.status === 400 || err.status === 422) throw new PublishRefused('bad-request', err.message);
    }
    throw new PublishRefused('unavailable', err instanceof Error ? err.message : String(err));
  }
}
