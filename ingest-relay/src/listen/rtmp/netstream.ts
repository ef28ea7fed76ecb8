/**
 * The server's answers to NetConnection and NetStream commands (Adobe RTMP specification 1.0, 7.2.1 and
 * 7.2.2), as messages. Pure: the connection decides when to send them.
 */
import type { PublishRefusedCode } from '../../session.ts';
import type { Amf0Object } from './amf0.ts';
import {
  commandMessage,
  type RtmpMessage,
  setChunkSizeMessage,
  setPeerBandwidthMessage,
  windowAckSizeMessage,
} from './messages.ts';

/** Chunk size the server writes with after connect (5.4.1); 4096 is what FMS, nginx-rtmp and SRS use. */
export const SERVER_CHUNK_SIZE = 4096;
/** Window Acknowledgement Size and peer bandwidth offered to the encoder (5.4.4, 5.4.5). */
export const WINDOW_ACK_SIZE = 2_500_000;

export function status(level: 'status' | 'error', code: string, description: string): Amf0Object {
  return { level, code, description };
}

/** Window Ack Size, Set Peer Bandwidth (dynamic), Set Chunk Size, then `_result` for `connect` (7.2.1.1). */
export function connectReplies(transactionId: number): RtmpMessage[] {
  return [
    windowAckSizeMessage(WINDOW_ACK_SIZE),
    setPeerBandwidthMessage(WINDOW_ACK_SIZE, 2),
    setChunkSizeMessage(SERVER_CHUNK_SIZE),
    commandMessage(
      0,
      '_result',
      transactionId,
      { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
      { ...status('status', 'NetConnection.Connect.Success', 'Connection succeeded.'), objectEncoding: 0 },
    ),
  ];
}

export function onStatus(streamId: number, level: 'status' | 'error', code: string, description: string) {
  return commandMessage(streamId, 'onStatus', 0, null, status(level, code, description));
}

/**
 * onStatus answers to a refused publish. NetStream.Publish.BadName is what encoders (OBS, ffmpeg) show for a
 * wrong key; Rejected and BadConnection tell "not now" apart from "not here". The description is fixed text:
 * the encoder never sees internal detail.
 */
const REFUSAL_STATUS: Record<PublishRefusedCode, { code: string; description: string }> = {
  'unknown-key': { code: 'NetStream.Publish.BadName', description: 'unknown stream key' },
  'already-live': {
    code: 'NetStream.Publish.Rejected',
    description: 'this stream is already being published',
  },
  unavailable: { code: 'NetStream.Publish.BadConnection', description: 'ingest unavailable, retry later' },
  'bad-request': { code: 'NetStream.Publish.Rejected', description: 'publish request rejected' },
};

export function refusalStatus(streamId: number, refusal: PublishRefusedCode): RtmpMessage {
  const answer = REFUSAL_STATUS[refusal];
  return onStatus(streamId, 'error', answer.code, answer.description);
}
