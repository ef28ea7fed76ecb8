/**
 * The receiver's work and memory follow the packets it holds, never the sequence numbers between them
 * (issue 10 item 4: the srt-connection fuzz target found a jump of a few thousand costing 124 ms, quadratic in
 * the jump). Work is counted in what the receiver keeps (buffered packets, loss-list ranges) and what it sends
 * (one NAK range per gap), not in seconds.
 */
import { describe, expect, it } from 'vitest';
import { ControlType, decodeAck, decodeLossList } from '../../../ingest-relay/src/listen/srt/packet.ts';
import { Receiver, type ReceiverOutput } from '../../../ingest-relay/src/listen/srt/receiver.ts';

const LATENCY_US = 120_000;
const SEQ_MODULUS = 0x80000000;
const payload = new Uint8Array(188);

const naks = (out: ReceiverOutput) =>
  out.control.filter((c) => c.type === ControlType.nak).map((c) => decodeLossList(c.cif));

/** A receiver whose window admits any jump the 31-bit sequence space can express (distances up to 2^30). */
function wideOpen(isn: number) {
  return new Receiver({ initialSeq: isn, latencyUs: LATENCY_US, peerStartUs: 0, flowWindow: SEQ_MODULUS });
}

describe('SRT receiver: work bounded by packets held, not by sequence jumps', () => {
  it.each([10, 2 ** 20, 2 ** 30])('a jump of %i costs one loss range, one NAK range, one drop', (jump) => {
    // Two packets `jump` apart, the first at the end of the sequence space.
    const isn = SEQ_MODULUS - 1;
    const rx = wideOpen(isn);
    const seq = (i: number) => (isn + i) % SEQ_MODULUS;
    const gap = [{ first: seq(1), last: seq(jump - 1) }];
    rx.onData({ seq: seq(0), timestamp: 0, retransmitted: false, payload }, 0);
    const opened = rx.onData({ seq: seq(jump), timestamp: 10_000, retransmitted: false, payload }, 1000);
    expect(rx.stats()).toMatchObject({ buffered: 2, lossRanges: 1, lost: jump - 1 });
    expect(naks(opened)).toEqual([{ ok: true, value: gap }]);
    // Packet 0 not yet due; the gap's NAK is 119 ms old: the periodic NAK repeats the same single range.
    expect(naks(rx.tick(LATENCY_US - 1))).toEqual([{ ok: true, value: gap }]);
    const due = rx.tick(LATENCY_US + 10_000); // the later packet is due: the gap is too late
    expect(due.delivered).toHaveLength(2);
    const ack = due.control.find((c) => c.type === ControlType.ack);
    expect(ack && decodeAck(ack.cif)).toMatchObject({ ok: true, value: { lastAckedSeq: seq(jump + 1) } });
    // The last packet of the gap arrives after its drop (belated), then again (a duplicate).
    for (let i = 0; i < 2; i++)
      rx.onData({ seq: seq(jump - 1), timestamp: 0, retransmitted: true, payload }, 200_000);
    expect(rx.stats()).toMatchObject({
      buffered: 0,
      lossRanges: 0,
      dropped: jump - 1,
      belated: 1,
      duplicates: 1,
      delivered: 2,
    });
  });

  it('a DROPREQ over a 2^30 gap abandons it in one step: dropped at the next tick, not NAKed again', () => {
    const rx = wideOpen(5);
    rx.onData({ seq: 5, timestamp: 0, retransmitted: false, payload }, 0);
    rx.onData({ seq: 5 + 2 ** 30, timestamp: 10_000_000, retransmitted: false, payload }, 0);
    rx.onDropRequest(6, 4 + 2 ** 30);
    expect(rx.stats()).toMatchObject({ lossRanges: 1, buffered: 2 });
    const out = rx.tick(LATENCY_US + 200_000); // packet 5 due; the far one (10 s) is not
    expect(out.delivered).toHaveLength(1);
    expect(naks(out)).toEqual([]);
    expect(rx.stats()).toMatchObject({ dropped: 2 ** 30 - 1, lossRanges: 0, buffered: 1 });
  });

  it.each([
    { window: 8192, name: "the relay's default window" },
    { window: SEQ_MODULUS, name: 'a window as wide as the sequence space' },
  ])('a flood of random far-ahead sequence numbers, $name: memory follows the packets held', ({ window }) => {
    // A fixed xorshift stream: the same flood every run.
    let state = 0x2545f491;
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const isn = 1000;
    const rx = new Receiver({ initialSeq: isn, latencyUs: LATENCY_US, peerStartUs: 0, flowWindow: window });
    let maxRanges = 0;
    let maxNakRanges = 0;
    for (let i = 0; i < 20_000; i++) {
      const nowUs = i * 1000;
      // Half land anywhere in the 31-bit space, half up to 4096 ahead of the sender's pace: gaps opened and split.
      const near = isn + i + Math.floor(random() * 4096);
      const seq = i % 2 === 0 ? Math.floor(random() * SEQ_MODULUS) : near % SEQ_MODULUS;
      rx.onData({ seq, timestamp: nowUs, retransmitted: false, payload }, nowUs);
      for (const nak of naks(rx.tick(nowUs)))
        maxNakRanges = Math.max(maxNakRanges, nak.ok ? nak.value.length : 0);
      const s = rx.stats();
      expect(s.buffered).toBeLessThanOrEqual(Math.min(window, s.received));
      // Disjoint ranges, each followed by a packet held: never more ranges than packets held.
      expect(s.lossRanges).toBeLessThanOrEqual(s.buffered);
      maxRanges = Math.max(maxRanges, s.lossRanges);
    }
    rx.tick(2 ** 40);
    const s = rx.stats();
    expect(s).toMatchObject({ buffered: 0, lossRanges: 0, delivered: s.received });
    // Every gap opened was filled later (counted as a retransmission) or dropped.
    expect(s.lost).toBe(s.dropped + s.retransmitted);
    expect(s.received).toBeGreaterThan(3000);
    expect(maxNakRanges).toBeLessThanOrEqual(128);
    expect(maxRanges).toBeGreaterThan(10); // the flood did split gaps
  });
});
