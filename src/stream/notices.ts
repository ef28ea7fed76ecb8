/**
 * What happens to a stream's inputs, as notices: the seam monitoring and webhooks subscribe to (each becomes a
 * webhook event of the same type). Reducers return them as effects (commands.ts); the Durable Object logs
 * them, keeps the last few and hands them to the webhook queue. Called "notices" so that "event" means one
 * thing in this room: a broadcast from a first publish to ENDLIST.
 */
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import type { SwitchReason } from './model.ts';

interface NoticeBase {
  streamId: string;
  /** The event (first publish to ENDLIST) this happened in. */
  eventId: string;
  /** Epoch ms (Worker clock). */
  at: number;
}

export interface InputRef {
  sessionId: string;
  role: IngestRole;
}

/** An encoder started a session (either role). `takenOver`: the stale same-role session it replaced. */
export interface StreamConnected extends NoticeBase {
  type: 'stream.connected';
  input: InputRef & { protocol: IngestProtocol; remoteAddress: string; relayId: string };
  takenOver: string | null;
}

/** A session ended: the relay said so (`reason` from the relay), or a new session took it over. */
export interface StreamDisconnected extends NoticeBase {
  type: 'stream.disconnected';
  input: InputRef;
  reason: string;
}

/** The origin switched the published input (failover or failback). */
export interface StreamFailover extends NoticeBase {
  type: 'stream.failover';
  from: InputRef;
  to: InputRef;
  reason: SwitchReason;
}

/** The reconnect window passed with no input: the playlist got EXT-X-ENDLIST. */
export interface StreamEnded extends NoticeBase {
  type: 'stream.ended';
}

export type StreamNotice = StreamConnected | StreamDisconnected | StreamFailover | StreamEnded;

/** The last RECENT_NOTICES notices of one stream, kept in memory (for tests and the health view). */
export const RECENT_NOTICES = 50;
