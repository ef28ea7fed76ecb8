/**
 * One RTMP connection's protocol state: handshake, chunk stream, NetConnection/NetStream commands
 * (Adobe RTMP specification 1.0 section 7.2) and FLV demux into a publishing session. No sockets here: the
 * server hands bytes in through receive() and gets bytes, pauses and closes out through ConnectionIo.
 */
import { randomFillSync } from 'node:crypto';
import type { IngestProtocol } from '../../../../src/contract/ingest.ts';
import { FlvDemuxer } from '../../demux/flv.ts';
import { type IngestHub, type PublishSession, refusalOf } from '../../ingest-hub.ts';
import { countLimitHit, DEFAULT_LIMITS, LIMIT_SPECS, type RelayLimits } from '../../limits.ts';
import { type Logger, RateLimitedLog } from '../../log.ts';
import { counter } from '../../metrics.ts';
import { splitAggregate } from './aggregate.ts';
import { type Amf0Object, type Amf0Value, decodeAmf0 } from './amf0.ts';
import { ChunkReader, ChunkWriter } from './chunk-stream.ts';
import { RtmpError } from './error.ts';
import { ServerHandshake } from './handshake.ts';
import {
  acknowledgementMessage,
  commandMessage,
  MessageType,
  type RtmpMessage,
  UserControlEvent,
  userControlMessage,
} from './messages.ts';
import { connectReplies, onStatus, refusalStatus, SERVER_CHUNK_SIZE, status } from './netstream.ts';

const droppedMessages = counter('relay_rtmp_messages_dropped_total', 'RTMP messages ignored', ['reason']);

export interface ConnectionIo {
  send(bytes: Uint8Array): void;
  /**
   * Ends the connection with a reason (logged). `code` (the metric label) marks an error; a clean unpublish
   * has none.
   */
  close(reason: string, code: string | undefined): void;
  /** Stop / restart reading from the socket (back-pressure from the session). */
  pause(): void;
  resume(): void;
}

export interface RtmpConnectionOptions {
  /** Only `open`: RTMP authorizes by opening (the Worker checks the key when the session starts). */
  hub: Pick<IngestHub, 'open'>;
  protocol: IngestProtocol;
  remoteAddress: string;
  log: Logger;
  io: ConnectionIo;
  /** The chunk reader's limits before and after authorization (limits.ts); defaults when absent. */
  limits?: Partial<RelayLimits>;
}

/**
 * Before the publish is authorized a peer can only send commands, which are small: one budget bounds the
 * largest message and every unfinished message together. Media comes after Publish.Start (ffmpeg and OBS
 * wait for it), and only then may a message be a keyframe.
 */
function preauthLimits(l: RelayLimits) {
  const name = LIMIT_SPECS.rtmpPreauthBufferBytes.env;
  return {
    limits: {
      maxMessageLength: l.rtmpPreauthBufferBytes,
      maxBufferedBytes: l.rtmpPreauthBufferBytes,
      maxChunkStreams: l.rtmpMaxChunkStreams,
    },
    names: {
      maxMessageLength: name,
      maxBufferedBytes: name,
      maxChunkStreams: LIMIT_SPECS.rtmpMaxChunkStreams.env,
    },
  };
}

function publishingLimits(l: RelayLimits) {
  return {
    limits: {
      maxMessageLength: l.rtmpMaxMessageBytes,
      maxBufferedBytes: l.rtmpMaxBufferBytes,
      maxChunkStreams: l.rtmpMaxChunkStreams,
    },
    names: {
      maxMessageLength: LIMIT_SPECS.rtmpMaxMessageBytes.env,
      maxBufferedBytes: LIMIT_SPECS.rtmpMaxBufferBytes.env,
      maxChunkStreams: LIMIT_SPECS.rtmpMaxChunkStreams.env,
    },
  };
}

export class RtmpConnection {
  readonly #o: RtmpConnectionOptions;
  readonly #handshake = new ServerHandshake({ timeMs: 0, random: (b) => randomFillSync(b) });
  readonly #reader: ChunkReader;
  readonly #writer = new ChunkWriter();
  readonly #demux = new FlvDemuxer();
  readonly #warn: RateLimitedLog;
  readonly #limits: RelayLimits;
  #nextStreamId = 1;
  #state: 'connecting' | 'connected' | 'opening' | 'publishing' | 'closed' = 'connecting';
  #session: PublishSession | undefined;
  #publishStreamId = 0;
  #metadata: Amf0Value;

  constructor(options: RtmpConnectionOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    const pre = preauthLimits(this.#limits);
    this.#reader = new ChunkReader({ ...pre.limits, limitNames: pre.names });
    this.#warn = new RateLimitedLog(options.log);
  }

  get #closed(): boolean {
    return this.#state === 'closed';
  }

  get handshakeDone(): boolean {
    return this.#handshake.done;
  }

  get publishing(): boolean {
    return this.#state === 'publishing';
  }

  /** `@setDataFrame onMetaData` as the encoder sent it (for health and logs). */
  get metadata(): Amf0Value {
    return this.#metadata;
  }

  describeIncompleteHandshake(): string {
    return this.#handshake.describeIncomplete();
  }

  /** Bytes held by the chunk reader (unfinished messages), for tests and the hostile-client bench. */
  get buffered(): number {
    return this.#reader.buffered;
  }

  /**
   * Bytes from the socket. Bad input closes this connection with the reason; so does any other error raised
   * while handling it (a parser bug), which is logged with its stack: nothing is thrown, and no other
   * connection notices.
   */
  receive(bytes: Uint8Array, now: number): void {
    if (this.#state === 'closed') return;
    try {
      let chunkBytes: Uint8Array | undefined = bytes;
      if (!this.#handshake.done) {
        const out = this.#handshake.push(bytes);
        if (out.reply) this.#o.io.send(out.reply);
        chunkBytes = out.done ? out.rest : undefined;
      }
      if (chunkBytes === undefined || chunkBytes.byteLength === 0) return;
      for (const event of this.#reader.push(chunkBytes)) {
        if (this.#closed) return;
        if (event.kind === 'acknowledge') this.#send(acknowledgementMessage(event.sequence));
        else this.#onMessage(event.message, now);
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /** The connection's error boundary: an RtmpError is the peer's fault, anything else ours. */
  #fail(err: unknown): void {
    if (err instanceof RtmpError) {
      if (err.limit !== undefined) countLimitHit(err.limit);
      this.#close(err.message, err.code);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.#o.log.error(
      { err: message, stack: err instanceof Error ? err.stack : undefined },
      'RTMP connection failed inside the relay; closing it',
    );
    this.#close(`relay error: ${message}`, 'internal');
  }

  /** The socket is gone (closed by the peer, a timeout or the server): end the session once. */
  disconnected(reason: string): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closed';
    return this.#endSession(reason);
  }

  #close(reason: string, code: string | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    void this.#endSession(reason);
    this.#o.io.close(reason, code);
  }

  #endSession(reason: string): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return Promise.resolve();
    return session
      .end(reason)
      .catch((err: unknown) => this.#o.log.warn({ err }, 'ending the session failed'));
  }

  #send(message: RtmpMessage): void {
    this.#o.io.send(this.#writer.write(message));
  }

  #onMessage(message: RtmpMessage, now: number): void {
    switch (message.typeId) {
      case MessageType.commandAmf0:
        this.#onCommand(decodeAmf0(message.payload), message.streamId);
        return;
      case MessageType.commandAmf3:
        // An AMF3 command message starts with a format byte, then AMF0 values (7.1.1).
        this.#onCommand(decodeAmf0(message.payload.subarray(1)), message.streamId);
        return;
      case MessageType.dataAmf0:
        this.#onData(decodeAmf0(message.payload));
        return;
      case MessageType.dataAmf3:
        this.#onData(decodeAmf0(message.payload.subarray(1)));
        return;
      case MessageType.audio:
      case MessageType.video:
        this.#onMedia(message, now);
        return;
      case MessageType.aggregate:
        for (const sub of splitAggregate(message)) this.#onMessage(sub, now);
        return;
      case MessageType.userControl:
        this.#onUserControl(message.payload);
        return;
      default:
        // Set Chunk Size, Abort and Window Ack Size were applied by the reader; acknowledgements and
        // bandwidth hints from a publisher change nothing here.
        return;
    }
  }

  #onUserControl(payload: Uint8Array): void {
    if (payload.byteLength < 6) return;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (view.getUint16(0) === UserControlEvent.pingRequest) {
      this.#send(userControlMessage(UserControlEvent.pingResponse, view.getUint32(2)));
    }
  }

  #onCommand(values: Amf0Value[], streamId: number): void {
    const [name, txn] = values;
    if (typeof name !== 'string') throw new RtmpError('bad-command', 'command message without a name');
    const transactionId = typeof txn === 'number' ? txn : 0;
    switch (name) {
      case 'connect':
        this.#onConnect(transactionId, values[2]);
        return;
      case 'releaseStream':
        this.#send(commandMessage(0, '_result', transactionId, null, undefined));
        return;
      case 'FCPublish':
        this.#send(
          commandMessage(
            0,
            'onFCPublish',
            0,
            null,
            status('status', 'NetStream.Publish.Start', String(values[3])),
          ),
        );
        return;
      case 'createStream':
        this.#send(commandMessage(0, '_result', transactionId, null, this.#nextStreamId++));
        return;
      case 'publish':
        this.#onPublish(values[3], streamId);
        return;
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        if (this.#state === 'publishing' || this.#state === 'opening')
          this.#close('encoder disconnected', undefined);
        return;
      case 'play':
      case 'play2':
        this.#send(
          onStatus(streamId, 'error', 'NetStream.Play.Failed', 'this server only accepts publishing'),
        );
        this.#close('play requested: this server only accepts publishing', 'play');
        return;
      default:
        // _checkbw, getStreamLength, _result replies to our calls...: nothing to do.
        this.#o.log.debug({ command: name }, 'ignored RTMP command');
    }
  }

  #onConnect(transactionId: number, commandObject: Amf0Value): void {
    if (this.#state !== 'connecting') throw new RtmpError('bad-command', 'connect sent twice');
    this.#state = 'connected';
    const app = isObject(commandObject) && typeof commandObject.app === 'string' ? commandObject.app : '';
    this.#o.log.debug({ app }, 'RTMP connect');
    // The Set Chunk Size among the replies applies to everything written after it (5.4.1).
    for (const reply of connectReplies(transactionId)) {
      this.#send(reply);
      if (reply.typeId === MessageType.setChunkSize) this.#writer.setChunkSize(SERVER_CHUNK_SIZE);
    }
  }

  #onPublish(publishName: Amf0Value, streamId: number): void {
    if (this.#state !== 'connected') {
      throw new RtmpError('bad-command', `publish in state ${this.#state} (one publish per connection)`);
    }
    // The stream key is the publish name; encoders may append `?query` (e.g. tokens for other servers).
    const streamKey = typeof publishName === 'string' ? (publishName.split('?')[0] ?? '') : '';
    this.#state = 'opening';
    this.#publishStreamId = streamId;
    this.#send(userControlMessage(UserControlEvent.streamBegin, streamId));
    const request = { streamKey, protocol: this.#o.protocol, remoteAddress: this.#o.remoteAddress };
    this.#o.hub.open(request).then(
      (session) => this.#guard(() => this.#onOpened(session)),
      (err: unknown) => this.#guard(() => this.#onRefused(err)),
    );
  }

  /** Callbacks that run outside receive() get the same boundary. */
  #guard(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.#fail(err);
    }
  }

  #onOpened(session: PublishSession): void {
    if (this.#state !== 'opening') {
      // The encoder went away while the Worker answered.
      session.end('encoder disconnected').catch(() => {});
      return;
    }
    this.#session = session;
    this.#state = 'publishing';
    const publishing = publishingLimits(this.#limits);
    this.#reader.setLimits(publishing.limits, publishing.names);
    session.onDrain(() => this.#o.io.resume());
    session.onFatal((reason) => this.#close(reason, 'session'));
    this.#o.log.info({ streamId: session.streamId, sessionId: session.sessionId }, 'RTMP publish started');
    this.#send(
      onStatus(this.#publishStreamId, 'status', 'NetStream.Publish.Start', `publishing ${session.streamId}`),
    );
  }

  #onRefused(err: unknown): void {
    if (this.#state !== 'opening') return;
    const refusal = refusalOf(err);
    this.#send(refusalStatus(this.#publishStreamId, refusal.code));
    this.#close(`publish refused (${refusal.code}): ${refusal.message}`, `refused-${refusal.code}`);
  }

  #onData(values: Amf0Value[]): void {
    // `@setDataFrame`, `onMetaData`, {...} from ffmpeg/OBS; a bare `onMetaData`, {...} from others.
    const at = values.indexOf('onMetaData');
    if (at < 0) return;
    if (this.#state !== 'publishing') {
      // Nothing an unauthorized peer sends is kept or logged whole.
      droppedMessages.inc({ reason: 'metadata-before-publish' });
      return;
    }
    this.#metadata = values[at + 1];
    this.#o.log.info(metadataSummary(this.#metadata), 'RTMP stream metadata');
  }

  #onMedia(message: RtmpMessage, now: number): void {
    const session = this.#session;
    if (session === undefined || message.streamId !== this.#publishStreamId) {
      droppedMessages.inc({ reason: 'not-publishing' });
      this.#warn.warn({ typeId: message.typeId }, 'media message outside a publish, dropped', now);
      return;
    }
    const events =
      message.typeId === MessageType.video
        ? this.#demux.video(message.payload, message.timestamp, now)
        : this.#demux.audio(message.payload, message.timestamp, now);
    for (const event of events) {
      if (event.type === 'error' && event.fatal) {
        this.#close(event.reason, 'demux');
        return;
      }
      // Non-fatal demux errors go to the session, which counts them and logs at most once a second.
      if (!session.push(event)) this.#o.io.pause();
    }
  }
}

/** The few onMetaData fields worth a log line, each a number or a short string; never the object whole. */
const METADATA_FIELDS = [
  'width',
  'height',
  'framerate',
  'videodatarate',
  'audiodatarate',
  'videocodecid',
  'audiocodecid',
  'audiosamplerate',
  'encoder',
] as const;

function metadataSummary(metadata: Amf0Value): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  if (!isObject(metadata)) return out;
  for (const field of METADATA_FIELDS) {
    const v = metadata[field];
    if (typeof v === 'number') out[field] = v;
    else if (typeof v === 'string') out[field] = v.slice(0, 64);
  }
  return out;
}

function isObject(value: Amf0Value): value is Amf0Object {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
