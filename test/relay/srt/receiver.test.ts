import { describe, expect, it } from 'vitest';
import { ControlType, decodeAck, decodeLossList } from '../../../ingest-relay/src/listen/srt/packet.ts';
import { lateDropGraceUs, Receiver } from '../../../ingest-relay/src/listen/srt/receiver.ts';

const LATENCY_US = 120_000;
const payload = (seq: number) => new Uint8Array([seq & 0xff]);

/** A receiver whose peer clock started at local 0, fed packets sent every 10 ms from `isn`. */
function setup(isn: number, latencyUs = LATENCY_US, dropGraceUs = 0) {
  const rx = new Receiver({ initialSeq: isn, latencyUs, peerStartUs: 0, flowWindow: 8192, dropGraceUs });
  const send = (i: number, nowUs: number, retransmitted = false) =>
    rx.onData(
      { seq: (isn + i) % 0x80000000, timestamp: i * 10_000, retransmitted, payload: payload(i) },
      nowUs,
    );
  return { rx, send };
}

describe('SRT receiver', () => {
  it('NAKs a gap at once with a compressed range, then periodically until repaired, across the seq wrap', () => {
    // Before any RTT sample the NAK interval is (RTT + 4 RTTVar) / 2 = 150 ms (initial 100 / 50 ms).
    const { rx, send } = setup(0x7ffffffe, 1_000_000);
    send(0, 0);
    const out = send(4, 1000); // 0x7fffffff, 0, 1 missing
    const nak = out.control.find((c) => c.type === ControlType.nak);
    expect(nak && decodeLossList(nak.cif)).toEqual({ ok: true, value: [{ first: 0x7fffffff, last: 1 }] });
    expect(rx.tick(100_000).control.some((c) => c.type === ControlType.nak)).toBe(false); // too soon
    const again = rx.tick(160_000).control.find((c) => c.type === ControlType.nak);
    expect(again && decodeLossList(again.cif)).toEqual({ ok: true, value: [{ first: 0x7fffffff, last: 1 }] });
    send(1, 161_000, true);
    send(2, 161_000, true);
    const later = rx.tick(320_000).control.find((c) => c.type === ControlType.nak);
    expect(later && decodeLossList(later.cif)).toEqual({ ok: true, value: [{ first: 1, last: 1 }] });
    expect(rx.stats()).toMatchObject({ lost: 3, retransmitted: 2 });
  });

  it('delivers in order at timestamp + latency (TSBPD), not before', () => {
    const { rx, send } = setup(100);
    send(1, 11_000);
    send(0, 12_000);
    expect(rx.tick(LATENCY_US - 1).delivered).toEqual([]);
    expect(rx.tick(LATENCY_US).delivered).toEqual([payload(0)]);
    expect(rx.tick(LATENCY_US + 10_000).delivered).toEqual([payload(1)]);
  });

  it('drops a missing packet once a later one is due (too-late drop), counts duplicates and belated ones', () => {
    const { rx, send } = setup(0);
    send(0, 0);
    send(2, 20_000);
    send(2, 20_000);
    expect(rx.tick(LATENCY_US).delivered).toEqual([payload(0)]);
    expect(rx.tick(LATENCY_US + 10_000).delivered).toEqual([]); // packet 1 would be due: still waiting
    expect(rx.tick(LATENCY_US + 20_000).delivered).toEqual([payload(2)]);
    send(1, LATENCY_US + 25_000); // arrives 5 ms after its drop: belated, not a duplicate
    send(1, LATENCY_US + 26_000); // and again: now a duplicate
    send(0, LATENCY_US + 27_000); // delivered long ago: a duplicate
    expect(rx.stats()).toMatchObject({
      dropped: 1,
      belated: 1,
      belatedMaxUs: 5000,
      duplicates: 3,
      delivered: 2,
    });
  });

  it('with a drop grace, awaits a missing run that long past its deadline and counts what that saved', () => {
    const { rx, send } = setup(0, LATENCY_US, 100_000);
    send(0, 0);
    send(3, 30_000); // 1 and 2 lost; 3 is due at 150 ms, so libsrt would drop them then
    expect(rx.tick(LATENCY_US).delivered).toEqual([payload(0)]);
    expect(rx.tick(LATENCY_US + 30_000).delivered).toEqual([]); // due: 3 waits behind the gap
    send(1, LATENCY_US + 60_000, true); // after libsrt's deadline, inside the grace: delivered at once
    expect(rx.tick(LATENCY_US + 61_000).delivered).toEqual([payload(1)]);
    expect(rx.tick(LATENCY_US + 129_000).delivered).toEqual([]); // 2 still awaited: the grace ends at 250 ms
    expect(rx.tick(LATENCY_US + 130_000).delivered).toEqual([payload(3)]); // grace over: 2 is dropped
    send(2, LATENCY_US + 140_000, true);
    expect(rx.stats()).toMatchObject({ dropped: 1, repairedLate: 1, belated: 1, delivered: 3 });
  });

  it('gives the relay a grace of one more latency, but never awaits a packet past one second', () => {
    expect([120, 200, 500, 600, 1000, 2000].map((ms) => lateDropGraceUs(ms * 1000) / 1000)).toEqual([
      120, 200, 500, 400, 0, 0,
    ]);
  });

  it('a DROPREQ inside a gap: those packets are no longer NAKed, and are dropped without waiting', () => {
    const { rx, send } = setup(0);
    send(0, 0);
    send(6, 1000); // 1..5 lost
    rx.onDropRequest(2, 3); // the sender gave up 2 and 3 (draft §3.2.9)
    const out = rx.tick(40_000); // one NAK interval (30 ms: 120 ms latency / 4) after the gap
    const nak = out.control.find((c) => c.type === ControlType.nak);
    expect(nak && decodeLossList(nak.cif)).toEqual({
      ok: true,
      value: [
        { first: 1, last: 1 },
        { first: 4, last: 5 },
      ],
    });
    const ack = out.control.find((c) => c.type === ControlType.ack);
    expect(ack && decodeAck(ack.cif)).toMatchObject({ ok: true, value: { lastAckedSeq: 1 } });
    send(1, 50_000, true);
    // 0 and 1 due; 2 and 3 go at once; 4 and 5 wait for packet 6 (due at 180 ms) to be too late.
    expect(rx.tick(LATENCY_US + 10_000).delivered).toEqual([payload(0), payload(1)]);
    expect(rx.stats()).toMatchObject({ dropped: 2, lossRanges: 1, retransmitted: 1 });
    expect(rx.tick(LATENCY_US + 60_000).delivered).toEqual([payload(6)]);
    send(3, LATENCY_US + 70_000);
    expect(rx.stats()).toMatchObject({ dropped: 4, lossRanges: 0, belated: 1, belatedMaxUs: 60_000 });
  });

  it('sends a full ACK every 10 ms when the ACK point moves, and measures RTT from ACKACK', () => {
    const { rx, send } = setup(10);
    send(0, 0);
    const first = rx.tick(1000).control.find((c) => c.type === ControlType.ack);
    expect(first && decodeAck(first.cif)).toMatchObject({ ok: true, value: { lastAckedSeq: 11 } });
    expect(rx.tick(2000).control.some((c) => c.type === ControlType.ack)).toBe(false);
    send(1, 3000);
    expect(rx.tick(5000).control.some((c) => c.type === ControlType.ack)).toBe(false); // < 10 ms since last
    const second = rx.tick(11_000).control.find((c) => c.type === ControlType.ack);
    expect(second && decodeAck(second.cif)).toMatchObject({ ok: true, value: { lastAckedSeq: 12 } });
    for (let i = 0; i < 40; i++) rx.onAckAck(second?.info ?? 0, 11_000 + 2000);
    rx.onAckAck(first?.info ?? 0, 1000 + 2000);
    expect(rx.stats().rttUs).toBeLessThan(100_000);
    expect(rx.stats().rttUs).toBeGreaterThanOrEqual(2000);
  });

  it('takes the first RTT sample as is, so a loss right after connecting is NAKed again every 20 ms', () => {
    // Smoothing from the 100 / 50 ms defaults would keep the NAK interval above a 120 ms latency for
    // hundreds of ms: one NAK per loss, a lost NAK or retransmission meant a dropped packet.
    const { rx, send } = setup(0);
    send(0, 0);
    const ack = rx.tick(1000).control.find((c) => c.type === ControlType.ack);
    rx.onAckAck(ack?.info ?? 0, 1500);
    expect(rx.stats()).toMatchObject({ rttUs: 500, rttVarUs: 250 });
    expect(send(2, 20_000).control.some((c) => c.type === ControlType.nak)).toBe(true);
    const naks = [30_000, 40_000, 45_000, 60_000, 80_000, 100_000].filter((t) =>
      rx.tick(t).control.some((c) => c.type === ControlType.nak),
    );
    expect(naks).toEqual([40_000, 60_000, 80_000, 100_000]);
  });

  it('NAKs at least every latency / 4 even when a stalled loop inflated the RTT estimate', () => {
    // One ACKACK read 80 ms late: RTT 80 ms, RTTVar 40 ms, so (RTT + 4 RTTVar) / 2 = 120 ms, the whole latency.
    const { rx, send } = setup(0);
    send(0, 0);
    const ack = rx.tick(1000).control.find((c) => c.type === ControlType.ack);
    rx.onAckAck(ack?.info ?? 0, 81_000);
    expect(rx.stats()).toMatchObject({ rttUs: 80_000, rttVarUs: 40_000 });
    // 1..8 lost; packet 9, due at 210 ms, keeps them from being dropped before the end of this test.
    expect(send(9, 91_000).control.some((c) => c.type === ControlType.nak)).toBe(true);
    const naks = [100_000, 120_000, 121_000, 140_000, 151_000, 180_000, 181_000, 200_000].filter((t) =>
      rx.tick(t).control.some((c) => c.type === ControlType.nak),
    );
    expect(naks).toEqual([121_000, 151_000, 181_000]); // every 30 ms = 120 ms / 4, not every 120 ms
    expect(rx.stats().dropped).toBe(0);
  });

  it('takes the time an ACKACK may have waited unread (a stalled loop) off its RTT sample', () => {
    const { rx, send } = setup(0);
    send(0, 0);
    const ack = rx.tick(1000).control.find((c) => c.type === ControlType.ack);
    rx.onAckAck(ack?.info ?? 0, 91_000, 89_000); // read 90 ms after the ACK, after an 89 ms stall
    expect(rx.stats()).toMatchObject({ rttUs: 1000, rttVarUs: 500 });
    send(1, 95_000);
    const next = rx.tick(101_000).control.find((c) => c.type === ControlType.ack);
    rx.onAckAck(next?.info ?? 0, 101_000 + 90_000, 200_000); // more stall than delay: a 0 µs sample
    expect(rx.stats().rttUs).toBe(875);
  });

  it('drain hands over everything buffered at shutdown', () => {
    const { rx, send } = setup(0);
    send(0, 0);
    send(2, 0);
    expect(rx.drain()).toEqual([payload(0), payload(2)]);
    expect(rx.stats().dropped).toBe(1);
  });
});
