/**
 * The receiving half of an SRT connection in live mode, with time passed in (microseconds of a local
 * monotonic clock). No I/O: every call returns the control packets to send and the payloads now due.
 *
 * - Loss detection (draft-sharabayko-srt-01 §4.8.1): a sequence gap is NAKed at once; still-missing packets
 *   are NAKed again every NAK interval (periodic NAK, §4.8.2).
 * - Full ACK every 10 ms (§4.8.1) with RTT, RTT variance, buffer and rate fields; ACKACK gives RTT samples.
 * - TSBPD (§4.5): a packet is delivered at peerStart + timestamp + latency, in sequence order.
 * - Too-late packet drop (§4.6): when a later packet is due, missing packets before it are given up.
 */
import { seqAdd, seqDiff, Unwrapper } from '../../demux/timestamps.ts';
import { ControlType, encodeAck, encodeLossList, type LossRange } from './packet.ts';

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
  delivered: number;
  deliveredBytes: number;
  /** Received bits per second over the last full second. */
  bitrate: number;
  buffered: number;
}

export interface ReceiverOptions {
  initialSeq: number;
  latencyUs: number;
  /** Local clock value (µs) at which the peer's timestamp 0 happened. */
  peerStartUs: number;
  /** Receive buffer size in packets (the flow window). */
  flowWindow: number;
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
  readonly #peerStartUs: number;
  readonly #window: number;
  readonly #ts = new Unwrapper(32);
  readonly #buffer = new Map<number, Slot>();
  /** Missing sequence numbers, in increasing order, with when each was last NAKed. */
  readonly #loss = new Map<number, number>();
  /** Missing packets the sender said it dropped (DROPREQ): skipped without waiting. */
  readonly #abandoned = new Set<number>();
  /** Recently dropped sequence numbers, with when each was dropped (oldest first). */
  readonly #droppedAt = new Map<number, number>();
  /** Next sequence number to deliver. */
  #head: number;
  /** One past the highest sequence number received. */
  #next: number;
  #ackNo = 0;
  #lastAckSeq = -1;
  #lastAckAt = Number.NEGATIVE_INFINITY;
  readonly #acksSent = new Map<number, number>();
  #rttUs = 100_000;
  #rttVarUs = 50_000;
  #rttMeasured = false;
  #rateWindowStart: number | undefined;
  #rateBytes = 0;
  #ratePackets = 0;
  #bitrate = 0;
  #packetRate = 0;
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
    delivered: 0,
    deliveredBytes: 0,
  };

  constructor(opts: ReceiverOptions) {
    this.#head = opts.initialSeq;
    this.#next = opts.initialSeq;
    this.#latencyUs = opts.latencyUs;
    this.#peerStartUs = opts.peerStartUs;
    this.#window = Math.max(32, opts.flowWindow);
  }

  onData(
    pkt: { seq: number; timestamp: number; retransmitted: boolean; payload: Uint8Array },
    nowUs: number,
  ): ReceiverOutput {
    const out: ReceiverOutput = { control: [], delivered: [] };
    const ahead = seqDiff(pkt.seq, this.#next);
    const behindHead = seqDiff(pkt.seq, this.#head) < 0;
    if (behindHead || this.#buffer.has(pkt.seq)) {
      const droppedAt = this.#droppedAt.get(pkt.seq);
      if (droppedAt === undefined) this.#stats.duplicates++;
      else {
        this.#droppedAt.delete(pkt.seq);
        this.#stats.belated++;
        this.#stats.belatedMaxUs = Math.max(this.#stats.belatedMaxUs, nowUs - droppedAt);
      }
      return out;
    }
    // A packet beyond the receive window is not something a live sender can produce: ignore it.
    if (seqDiff(pkt.seq, this.#head) >= this.#window) {
      this.#stats.overflowed++;
      return out;
    }
    this.#countRate(pkt.payload.byteLength, nowUs);
    this.#stats.received++;
    this.#stats.receivedBytes += pkt.payload.byteLength;
    if (pkt.retransmitted || this.#loss.has(pkt.seq)) this.#stats.retransmitted++;
    const deliverAt = this.#peerStartUs + this.#ts.unwrap(pkt.timestamp) + this.#latencyUs;
    this.#buffer.set(pkt.seq, { payload: pkt.payload, deliverAt });
    if (ahead > 0) {
      // Gap [next, seq - 1]: record and NAK immediately.
      const first = this.#next;
      const last = seqAdd(pkt.seq, -1);
      for (let s = first, i = 0; i < ahead; i++, s = seqAdd(s, 1)) this.#loss.set(s, nowUs);
      this.#stats.lost += ahead;
      out.control.push({ type: ControlType.nak, info: 0, cif: encodeLossList([{ first, last }]) });
    }
    if (ahead >= 0) this.#next = seqAdd(pkt.seq, 1);
    else this.#loss.delete(pkt.seq);
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
    for (let s = first, i = 0; i < count; i++, s = seqAdd(s, 1)) {
      if (this.#loss.delete(s)) this.#abandoned.add(s);
    }
  }

  tick(nowUs: number): ReceiverOutput {
    const out: ReceiverOutput = { control: [], delivered: [] };
    this.#deliver(nowUs, out);
    this.#countRate(0, nowUs);
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
    for (let step = 0; step < this.#window && this.#head !== this.#next; step++) {
      const slot = this.#buffer.get(this.#head);
      if (slot) {
        this.#stats.delivered++;
        this.#stats.deliveredBytes += slot.payload.byteLength;
        out.push(slot.payload);
      } else this.#stats.dropped++;
      this.#head = seqAdd(this.#head, 1);
    }
    this.#buffer.clear();
    this.#loss.clear();
    return out;
  }

  stats(): ReceiverStats {
    return {
      ...this.#stats,
      rttUs: this.#rttUs,
      rttVarUs: this.#rttVarUs,
      bitrate: this.#bitrate,
      buffered: this.#buffer.size,
    };
  }

  /** The sequence number after the last packet received in order (the ACK point). */
  #ackSeq(): number {
    for (const s of this.#loss.keys()) return s;
    return this.#next;
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
      packetsReceivingRate: this.#packetRate,
      estimatedLinkCapacity: this.#packetRate,
      receivingRateBytes: Math.round(this.#bitrate / 8),
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
    const interval = this.#nakIntervalUs();
    const ranges: LossRange[] = [];
    for (const [seq, lastNak] of this.#loss) {
      if (nowUs - lastNak < interval) continue;
      this.#loss.set(seq, nowUs);
      const prev = ranges[ranges.length - 1];
      if (prev && seqAdd(prev.last, 1) === seq) prev.last = seq;
      else {
        if (ranges.length === MAX_RANGES_PER_NAK) break;
        ranges.push({ first: seq, last: seq });
      }
    }
    if (ranges.length === 0) return undefined;
    return { type: ControlType.nak, info: 0, cif: encodeLossList(ranges) };
  }

  #deliver(nowUs: number, out: ReceiverOutput): void {
    // Bounded by the window: each step delivers or drops one sequence number.
    for (let step = 0; step < this.#window && this.#head !== this.#next; step++) {
      const slot = this.#buffer.get(this.#head);
      if (slot) {
        if (slot.deliverAt > nowUs) return;
        this.#buffer.delete(this.#head);
        this.#stats.delivered++;
        this.#stats.deliveredBytes += slot.payload.byteLength;
        out.delivered.push(slot.payload);
        this.#head = seqAdd(this.#head, 1);
        continue;
      }
      if (this.#abandoned.delete(this.#head) || this.#firstDueAfterHead(nowUs)) {
        // Too late (§4.6): a later packet is due, so this one can no longer be played in order.
        this.#loss.delete(this.#head);
        this.#stats.dropped++;
        this.#rememberDrop(this.#head, nowUs);
        this.#head = seqAdd(this.#head, 1);
        continue;
      }
      return;
    }
  }

  #rememberDrop(seq: number, nowUs: number): void {
    this.#droppedAt.set(seq, nowUs);
    if (this.#droppedAt.size > DROP_HISTORY) {
      for (const k of this.#droppedAt.keys()) {
        this.#droppedAt.delete(k);
        break;
      }
    }
  }

  #firstDueAfterHead(nowUs: number): boolean {
    const span = seqDiff(this.#next, this.#head);
    for (let s = seqAdd(this.#head, 1), i = 1; i < span; i++, s = seqAdd(s, 1)) {
      const slot = this.#buffer.get(s);
      if (slot) return slot.deliverAt <= nowUs;
    }
    return false;
  }

  #countRate(bytes: number, nowUs: number): void {
    if (this.#rateWindowStart === undefined) this.#rateWindowStart = nowUs;
    const elapsed = nowUs - this.#rateWindowStart;
    if (elapsed >= 1_000_000) {
      this.#bitrate = Math.round((this.#rateBytes * 8 * 1_000_000) / elapsed);
      this.#packetRate = Math.round((this.#ratePackets * 1_000_000) / elapsed);
      this.#rateWindowStart = nowUs;
      this.#rateBytes = 0;
      this.#ratePackets = 0;
    }
    if (bytes > 0) {
      this.#rateBytes += bytes;
      this.#ratePackets++;
    }
  }
}
