/**
 * What happens to a stream's inputs, as events: the seam monitoring and webhooks subscribe to. The Durable
 * Object emits them where they happen (stream-do.ts `emitEvent`); a sink must not throw or block: it is
 * called on the media path.
 */
import type { IngestProtocol, IngestRole } from '../contract/ingest.ts';
import type { SwitchReason } from './state.ts';

interface EventBase {
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
export interface StreamConnected extends EventBase {
  type: 'stream.connected';
  input: InputRef & { protocol: IngestProtocol; remoteAddress: string; relayId: string };
  takenOver: string | null;
}

/** A session ended: the relay said so (`reason` from the relay), or a new session took it over. */
export interface StreamDisconnected extends EventBase {
  type: 'stream.disconnected';
  input: InputRef;
  reason: string;
}

/** The origin switched the published input (failover or failback). */
export interface StreamFailover extends EventBase {
  type: 'stream.failover';
  from: InputRef;
  to: InputRef;
  reason: SwitchReason;
}

/** The reconnect window passed with no input: the playlist got EXT-X-ENDLIST. */
export interface StreamEnded extends EventBase {
  type: 'stream.ended';
}

export type StreamEvent = StreamConnected | StreamDisconnected | StreamFailover | StreamEnded;

export type StreamEventSink = (event: StreamEvent) => void;

/** The last RECENT_EVENTS events of one stream, kept in memory (for tests and the health view). */
export const RECENT_EVENTS = 50;
