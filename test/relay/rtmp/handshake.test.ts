import { describe, expect, it } from 'vitest';
import { HANDSHAKE_SIZE, ServerHandshake } from '../../../ingest-relay/src/listen/rtmp/handshake.ts';

function c0c1(version = 3): Uint8Array {
  const bytes = new Uint8Array(1 + HANDSHAKE_SIZE);
  bytes[0] = version;
  new DataView(bytes.buffer).setUint32(1, 4242);
  for (let i = 9; i < bytes.byteLength; i++) bytes[i] = (i * 7) & 0xff;
  return bytes;
}

const options = { timeMs: 1000, random: (b: Uint8Array) => b.fill(0xab) };

describe('ServerHandshake', () => {
  it('answers C0+C1 with S0+S1+S2 (S2 echoes C1) and finishes on C2, fed one byte at a time', () => {
    const hs = new ServerHandshake(options);
    const input = new Uint8Array([...c0c1(), ...new Uint8Array(HANDSHAKE_SIZE), 0x02, 0x00]);
    let reply: Uint8Array | undefined;
    let rest: Uint8Array | undefined;
    for (let i = 0; i < input.byteLength && !hs.done; i++) {
      const out = hs.push(input.subarray(i, i + 1));
      if (out.reply) reply = out.reply;
      if (out.done) rest = out.rest;
    }
    expect(hs.done).toBe(true);
    expect(reply?.byteLength).toBe(1 + 2 * HANDSHAKE_SIZE);
    expect(reply?.[0]).toBe(3);
    const view = new DataView(reply!.buffer);
    expect(view.getUint32(1)).toBe(1000);
    expect(view.getUint32(5)).toBe(0); // zero version: the simple handshake, no digest
    expect(reply![9]).toBe(0xab);
    const s2 = reply!.subarray(1 + HANDSHAKE_SIZE);
    expect(new DataView(s2.buffer, s2.byteOffset).getUint32(0)).toBe(4242);
    expect(Array.from(s2.subarray(8))).toEqual(Array.from(c0c1().subarray(9)));
    expect(rest?.byteLength ?? 0).toBe(0);
  });

  it('passes bytes pipelined behind C2 to the chunk stream', () => {
    const hs = new ServerHandshake(options);
    const out = hs.push(new Uint8Array([...c0c1(), ...new Uint8Array(HANDSHAKE_SIZE), 0x03, 0x00, 0x00]));
    expect(out.done).toBe(true);
    expect(Array.from(out.rest!)).toEqual([3, 0, 0]);
  });

  it('refuses a version other than 3', () => {
    expect(() => new ServerHandshake(options).push(c0c1(6))).toThrow(/unsupported RTMP version 6/);
    expect(() => new ServerHandshake(options).push(Uint8Array.of(0x47))).toThrow(/version 71/);
  });

  it('describes a truncated handshake', () => {
    const hs = new ServerHandshake(options);
    hs.push(c0c1().subarray(0, 100));
    expect(hs.describeIncomplete()).toBe('handshake truncated: got 100 of 1537 bytes of C0+C1');
    hs.push(c0c1().subarray(100));
    hs.push(new Uint8Array(10));
    expect(hs.describeIncomplete()).toBe('handshake truncated: got 10 of 1536 bytes of C2');
  });
});
