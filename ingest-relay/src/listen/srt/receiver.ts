/**
 * The receiving half of an SRT connection in live mode, with time passed in (microseconds of a local
 * monotonic clock). No I/O: every call returns the control packets to send and the payloads now due.
 *
 * - Loss detection (draft-sharabayko-srt-01 §4.8.1): a sequence gap is NAKed at once; still-missing packets
 *   are NAKed again every NAK interval (periodic NAK, §4.8.2).
 * - Full ACK every 10 ms (§4.8.1) with RTT, RTT variance, buffer and rate fields; ACKACK gives RTT samples.
 * - TSBPD (§4.5): a packet is delivered at peerStart + timestamp + latency, in sequence order.
 * - Too-late packet drop (§4.6): when a later packet is due, missing packets before it are given up; a receiver
 *   that is not a player may wait `dropGraceUs` longer for them ({@link lateDropGraceUs}).
 *
 * Sequence numbers are unwrapped into positions (plain integers, `#headPos` + the signed distance from the head),
 * so the buffer, the loss list and the drop history never compare across the 31-bit wrap. Missing packets are
 * ranges (loss-list.ts, drop-history.ts): no work is proportional to how far ahead a packet's number jumps.
 */
import { seqAdd, seqDiff, Unwrapper } from '../../demux/timestamps.ts';
import { DropHistory } from './drop-history.ts';
import { LossList } from './loss-list.ts';
import { ControlType, encodeAck, encodeLossList } from './packet.ts';
import { ReceiveRate } from './receive-rate.ts';

export interface OutgoingControl {
  type: number;
  info: number;
  cif: Uint8Array;
}

export interface ReceiverOutput {
  control: OutgoingControl[];
  delivered: Uint8Array[];
}

export interface ReceiverStats {
  rttUs: number;
  rttVarUs: number;
  received: number;
  receivedBytes: number;
  lost: number;
  retransmitted: number;
  dropped: number;
  /** Packets beyond the receive buffer (the flow window) that were refused. */
  overflowed: number;
  duplicates: number;
  /** Packets that arrived after they had been dropped as too late (libsrt's pktRcvBelated). */
  belated: number;
  /** How long after its drop the latest-arriving belated packet came, µs. */
  belatedMaxUs: number;
  /**
   * Retransmissions that filled a gap after libsrt's too-late drop would have given it up: packets the drop
   * grace saved.
   */
  repairedLate: number;
  delivered: number;
  deliveredBytes: number;
  /** Received bits per second over the last full second. */
  bitrate: number;
  buffered: number;
  /** Ranges in the loss list (missing packets awaited or abandoned): its memory, whatever the ranges span. */
  lossRanges: number;
}

export interface ReceiverOptions {
  initialSeq: number;
  latencyUs: number;
  /** Local clock value (µs) at which the peer's timestamp 0 happened. */
  peerStartUs: number;
  /** Receive buffer size in packets (the flow window). */
  flowWindow: number;
  /**
   * How long past the time a later packet is due a missing run is still awaited before it is dropped, µs
   * (default 0: libsrt's too-late drop). Packets present are delivered on time either way.
   */
  dropGraceUs?: number;
}

/**
 * The relay's drop grace for a negotiated latency: as long again as the latency, so long as a missing packet is
 * never awaited past one second. libsrt senders keep a packet for retransmission at least that long (its
 * too-late drop threshold is max(latency, 1000 ms) + 20 ms), so within it a retransmission can still come.
 *
 * Why wait at all: the relay is not a player. A packet given up corrupts the picture until the next keyframe
 * for every viewer; one that comes 100 ms late only delays that part, inside a PART-HOLD-BACK of a second or
 * more. On a starved box (issue 10, item 5) most too-late drops were of packets whose retransmission did come,
 * a few ms to tens of ms after the deadline (`belated`).
 */
export function lateDropGraceUs(latencyUs: number): number {
  return Math.max(0, Math.min(latencyUs, 1_000_000 - latencyUs));
}

const ACK_INTERVAL_US = 10_000;
const MIN_NAK_INTERVAL_US = 20_000;
const MAX_RANGES_PER_NAK = 128;
const ACK_HISTORY = 64;
/** Too-late drops remembered, to tell a belated arrival from a duplicate. */
const DROP_HISTORY = 1024;

interface Slot {
  payload: Uint8Array;
  deliverAt: number;
}

export class Receiver {
  readonly #latencyUs: number;
  readonly #dropGraceUs: number;
  readonly #peerStartUs: number;
  readonly #window: number;
  readonly #ts = new Unwrapper(32);
  /** Received packets not yet delivered, by position. */
  readonly #buffer = new Map<number, Slot>();
  /** Every position in [#headPos, #nextPos) not in #buffer, in ranges. */
  readonly #loss = new LossList();
  readonly #drops = new DropHistory(DROP_HISTORY);
  /** Position of the next packet to deliver. */
  #headPos: number;
  /** One past the position of the highest packet received. */
  #nextPos: number;
  #ackNo = 0;
  #lastAckSeq = -1;
  #lastAckAt = Number.NEGATIVE_INFINITY;
  readonly #acksSent = new Map<number, number>();
  #rttUs = 100_000;
  #rttVarUs = 50_000;
  #rttMeasured = false;
  readonly #rate = new ReceiveRate();
  readonly #stats = {
    received: 0,
    receivedBytes: 0,
    lost: 0,
    retransmitted: 0,
    dropped: 0,
    overflowed: 0,
    duplicates: 0,
    belated: 0,
    belatedMaxUs: 0,
    repairedLate: 0,
    delivered: 0,
    deliveredBytes: 0,
  };

  constructor(opts: ReceiverOptions) {
    this.#headPos = opts.initialSeq;
    this.#nextPos = opts.initialSeq;
    this.#latencyUs = opts.latencyUs;
    this.#dropGraceUs = opts.dropGraceUs ?? 0;
    this.#peerStartUs = opts.peerStartUs;
    this.#window = Math.max(32, opts.flowWindow);
  }

  onData(
    pkt: { seq: number; timestamp: number; retransmitted: boolean; payload: Uint8Array },
    nowUs: number,
  ): ReceiverOutput {
    const out: ReceiverOutput = { control: [], delivered: [] };
    const pos = this.#position(pkt.seq);
    if (pos < this.#headPos || this.#buffer.has(pos)) {
      const droppedAt = this.#drops.take(pos);
      if (droppedAt === undefined) this.#stats.duplicates++;
      else {
        this.#stats.belated++;
        this.#stats.belatedMaxUs = Math.max(this.#stats.belatedMaxUs, nowUs - droppedAt);
      }
      return out;
    }
    // A packet beyond the receive window is not something a live sender can produce: ignore it.
    if (pos - this.#headPos >= this.#window) {
      this.#stats.overflowed++;
      return out;
    }
    this.#rate.count(pkt.payload.byteLength, nowUs);
    this.#stats.received++;
    this.#stats.receivedBytes += pkt.payload.byteLength;
    const late = pos < this.#nextPos && this.#isPastDropDeadline(pos, nowUs);
    const awaited = pos < this.#nextPos && this.#loss.fill(pos);
    if (pkt.retransmitted || awaited) this.#stats.retransmitted++;
    if (awaited && late) this.#stats.repairedLate++;
    const deliverAt = this.#peerStartUs + this.#ts.unwrap(pkt.timestamp) + this.#latencyUs;
    this.#buffer.set(pos, { payload: pkt.payload, deliverAt });
    if (pos > this.#nextPos) {
      // Gap [next, pos - 1]: record and NAK immediately, one range however long.
      this.#loss.open(this.#nextPos, pos - 1, nowUs);
      this.#stats.lost += pos - this.#nextPos;
      const gap = { first: seqAt(this.#nextPos), last: seqAt(pos - 1) };
      out.control.push({ type: ControlType.nak, info: 0, cif: encodeLossList([gap]) });
    }
    if (pos >= this.#nextPos) this.#nextPos = pos + 1;
    return out;
  }

  /**
   * ACKACK carries the number of the ACK it answers (draft §3.2.7): one RTT sample (§4.10). `stalledUs` bounds
   * how long it may have sat unread while this process was stalled; that is not path delay, so it is taken
   * off. Left in, stalls on a busy box made a 1 ms path look like 30–126 ms ± 40 ms: that stretches the NAK
   * interval, and reaches the sender in every ACK (§3.2.4), whose retransmission timing depends on it.
   */
  onAckAck(ackNo: number, nowUs: number, stalledUs = 0): void {
    const sentAt = this.#acksSent.get(ackNo);
    if (sentAt === undefined) return;
    this.#acksSent.delete(ackNo);
    const sample = Math.max(0, nowUs - sentAt - stalledUs);
    if (!this.#rttMeasured) {
      // The first sample replaces the 100 ms / 50 ms defaults (RFC 6298 §2.2; libsrt does the same): smoothing
      // from them keeps the periodic NAK interval, (RTT + 4·RTTVar)/2, above a 120 ms latency for the first
      // few hundred ms, so a packet lost then was NAKed once and never again before its deadline.
      this.#rttMeasured = true;
      this.#rttUs = sample;
      this.#rttVarUs = Math.round(sample / 2);
      return;
    }
    this.#rttVarUs = Math.round((3 * this.#rttVarUs + Math.abs(this.#rttUs - sample)) / 4);
    this.#rttUs = Math.round((7 * this.#rttUs + sample) / 8);
  }

  /** DROPREQ (draft §3.2.9): the sender gave up on [first, last]; stop asking for them. */
  onDropRequest(first: number, last: number): void {
    const count = seqDiff(last, first) + 1;
    if (count <= 0 || count > this.#window) return;
    const firstPos = this.#position(first);
    this.#loss.abandon(firstPos, firstPos + count - 1);
  }

  tick(nowUs: number): ReceiverOutput {
    const out: ReceiverOutput = { control: [], delivered: [] };
    this.#deliver(nowUs, out);
    this.#rate.count(0, nowUs);
    const ackSeq = this.#ackSeq();
    if (nowUs - this.#lastAckAt >= ACK_INTERVAL_US && ackSeq !== this.#lastAckSeq) {
      out.control.push(this.#fullAck(ackSeq, nowUs));
    }
    const nak = this.#periodicNak(nowUs);
    if (nak) out.control.push(nak);
    return out;
  }

  /** End of stream: everything still buffered, in order, gaps counted as dropped (no more time to repair). */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = this.#headPos;
    for (const gap of this.#loss) {
      for (; pos < gap.first; pos++) this.#drainOne(pos, out);
      this.#stats.dropped += gap.last - gap.first + 1;
      pos = gap.last + 1;
    }
    for (; pos < this.#nextPos; pos++) this.#drainOne(pos, out);
    this.#headPos = this.#nextPos;
    this.#buffer.clear();
    this.#loss.clear();
    return out;
  }

  stats(): ReceiverStats {
    return {
      ...this.#stats,
      rttUs: this.#rttUs,
      rttVarUs: this.#rttVarUs,
      bitrate: this.#rate.bitsPerSecond,
      buffered: this.#buffer.size,
      lossRanges: this.#loss.length,
    };
  }

  /** Position of a sequence number, by its signed distance from the head (draft §3.1: 31-bit, wrapping). */
  #position(seq: number): number {
    return this.#headPos + seqDiff(seq, seqAt(this.#headPos));
  }

  /** The sequence number after the last packet received in order (the ACK point). */
  #ackSeq(): number {
    return seqAt(this.#loss.firstAwaited()?.first ?? this.#nextPos);
  }

  #fullAck(ackSeq: number, nowUs: number): OutgoingControl {
    this.#ackNo = (this.#ackNo + 1) & 0x7fffffff || 1;
    this.#acksSent.set(this.#ackNo, nowUs);
    if (this.#acksSent.size > ACK_HISTORY) {
      for (const k of this.#acksSent.keys()) {
        this.#acksSent.delete(k);
        break;
      }
    }
    this.#lastAckSeq = ackSeq;
    this.#lastAckAt = nowUs;
    const cif = encodeAck({
      lastAckedSeq: ackSeq,
      rttUs: this.#rttUs,
      rttVarUs: this.#rttVarUs,
      availableBufferPackets: Math.max(2, this.#window - this.#buffer.size),
      packetsReceivingRate: this.#rate.packetsPerSecond,
      estimatedLinkCapacity: this.#rate.packetsPerSecond,
      receivingRateBytes: Math.round(this.#rate.bitsPerSecond / 8),
    });
    return { type: ControlType.ack, info: this.#ackNo, cif };
  }

  /**
   * (RTT + 4·RTTVar)/2 with a 20 ms floor, as libsrt, but never more than a quarter of the latency: every loss
   * gets at least four periodic NAKs before its deadline. The RTT is sampled when an ACKACK is read, so each
   * stall of this process inflates it: on a starved box the estimate reached 30–126 ms on a 1 ms path, which
   * left one periodic NAK inside a 120 ms latency and dropped packets a second NAK would have saved. With
   * the recommended latency of 4·RTT or more the cap is at least one RTT, so an honest estimate is never cut
   * below the time a retransmission needs to arrive.
   */
  #nakIntervalUs(): number {
    const fromRtt = Math.round((this.#rttUs + 4 * this.#rttVarUs) / 2);
    return Math.max(MIN_NAK_INTERVAL_US, Math.min(fromRtt, Math.round(this.#latencyUs / 4)));
  }

  #periodicNak(nowUs: number): OutgoingControl | undefined {
    const ranges = this.#loss.takeDueForNak(nowUs, this.#nakIntervalUs(), MAX_RANGES_PER_NAK);
    if (ranges.length === 0) return undefined;
    const cif = encodeLossList(ranges.map((r) => ({ first: seqAt(r.first), last: seqAt(r.last) })));
    return { type: ControlType.nak, info: 0, cif };
  }

  /** Each step delivers one packet or drops one range of missing ones, so a tick costs what it hands over. */
  #deliver(nowUs: number, out: ReceiverOutput): void {
    while (this.#headPos < this.#nextPos) {
      const slot = this.#buffer.get(this.#headPos);
      if (slot) {
        if (slot.deliverAt > nowUs) return;
        this.#buffer.delete(this.#headPos);
        this.#stats.delivered++;
        this.#stats.deliveredBytes += slot.payload.byteLength;
        out.delivered.push(slot.payload);
        this.#headPos++;
        continue;
      }
      // The head is missing, so the loss list's front range starts at it.
      const gap = this.#loss.front();
      if (gap === undefined) return;
      if (gap.abandoned) {
        this.#drop(gap.last, nowUs);
        continue;
      }
      // Too late (§4.6): once the first packet after the missing run is due, none of it can be played in order.
      const run = this.#missingHeadRun();
      if (run?.dueAt === undefined || run.dueAt + this.#dropGraceUs > nowUs) return;
      this.#drop(run.end, nowUs);
    }
  }

  /**
   * The missing run at the head, if the head is missing: its last position, and when the packet after it is
   * due (undefined while that packet has not arrived). libsrt drops the run at that time.
   */
  #missingHeadRun(): { end: number; dueAt: number | undefined } | undefined {
    if (this.#buffer.has(this.#headPos) || this.#loss.front() === undefined) return undefined;
    const end = this.#loss.runEnd();
    return { end, dueAt: this.#buffer.get(end + 1)?.deliverAt };
  }

  /**
   * Whether the missing `pos` is past the time libsrt would have dropped it: it is in the missing run at the
   * head, and the packet after that run is due. (A later run waits behind the head's, so it is not looked at.)
   */
  #isPastDropDeadline(pos: number, nowUs: number): boolean {
    const run = this.#missingHeadRun();
    return run?.dueAt !== undefined && pos >= this.#headPos && pos <= run.end && run.dueAt <= nowUs;
  }

  /** Gives up the missing positions from the head through `last`. */
  #drop(last: number, nowUs: number): void {
    this.#stats.dropped += last - this.#headPos + 1;
    this.#drops.add(this.#headPos, last, nowUs);
    this.#loss.dropThrough(last);
    this.#headPos = last + 1;
  }

  #drainOne(pos: number, out: Uint8Array[]): void {
    const slot = this.#buffer.get(pos);
    if (slot === undefined) return;
    this.#stats.delivered++;
    this.#stats.deliveredBytes += slot.payload.byteLength;
    out.push(slot.payload);
  }
}

/** The 31-bit sequence number of a position. */
function seqAt(pos: number): number {
  return seqAdd(pos, 0);
}
