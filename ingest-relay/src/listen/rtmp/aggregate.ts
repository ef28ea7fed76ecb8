/**
 * Aggregate messages (Adobe RTMP specification 1.0, section 7.1.6): several audio/video/data messages in one
 * RTMP message, each with an FLV-style tag header and a back pointer. Some encoders and relays use them to cut
 * chunk overhead.
 */
import { RtmpError } from './error.ts';
import { MessageType, type RtmpMessage } from './messages.ts';

const SUB_HEADER = 11;
const BACK_POINTER = 4;

/**
 * The sub-messages, on the aggregate's chunk and message stream. "The timestamp of the aggregate message
 * overrides the timestamp of the first sub-message; the others are offset by the same difference" (7.1.6).
 */
export function splitAggregate(aggregate: RtmpMessage): RtmpMessage[] {
  const p = aggregate.payload;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const out: RtmpMessage[] = [];
  let at = 0;
  let offset: number | undefined;
  while (at < p.byteLength) {
    if (p.byteLength - at < SUB_HEADER)
      throw new RtmpError('bad-aggregate', 'aggregate message: truncated header');
    const typeId = p[at]!;
    const length = view.getUint32(at) & 0xffffff;
    // Timestamp: 3 bytes, then the high 8 bits (as in an FLV tag header).
    const timestamp = ((p[at + 7]! << 24) | (view.getUint32(at + 3) & 0xffffff)) >>> 0;
    const body = at + SUB_HEADER;
    if (p.byteLength - body < length)
      throw new RtmpError('bad-aggregate', 'aggregate message: truncated body');
    if (typeId !== MessageType.audio && typeId !== MessageType.video && typeId !== MessageType.dataAmf0) {
      throw new RtmpError('bad-aggregate', `aggregate message: sub-message of type ${typeId}`);
    }
    offset ??= (aggregate.timestamp - timestamp) >>> 0;
    out.push({
      csid: aggregate.csid,
      typeId,
      streamId: aggregate.streamId,
      timestamp: (timestamp + offset) >>> 0,
      payload: p.subarray(body, body + length),
    });
    at = body + length + BACK_POINTER;
  }
  return out;
}
