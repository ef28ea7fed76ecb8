import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff } from '../../../ingest-relay/src/demux/timestamps.ts';
import {
  aesCtr,
  aesKeyUnwrap,
  aesKeyWrap,
  ctrIv,
  deriveKek,
} from '../../../ingest-relay/src/listen/srt/crypto.ts';
import {
  acceptConclusion,
  answerInduction,
  readConclusion,
  synCookie,
} from '../../../ingest-relay/src/listen/srt/handshake.ts';
import {
  decodeStreamIdWire,
  ExtType,
  encodeStreamIdWire,
  type HandshakeCif,
  HandshakeType,
  parseHandshake,
  serializeHandshake,
  serializeHsExtension,
} from '../../../ingest-relay/src/listen/srt/handshake-wire.ts';
import { parseKeyMaterial, unwrapKeys } from '../../../ingest-relay/src/listen/srt/key-material.ts';
import {
  ControlType,
  control,
  decodeAck,
  decodeLossList,
  encodeAck,
  encodeLossList,
  parsePacket,
  serializePacket,
} from '../../../ingest-relay/src/listen/srt/packet.ts';
import { parseStreamId } from '../../../ingest-relay/src/listen/srt/stream-id.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('SRT sequence numbers (31-bit)', () => {
  it('wraps at 2^31', () => {
    expect(seqAdd(0x7fffffff, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(0x7fffffff);
    expect(seqDiff(0, 0x7fffffff)).toBe(1);
    expect(seqDiff(0x7fffffff, 0)).toBe(-1);
    expect(seqDiff(5, 3)).toBe(2);
  });
});

describe('packets', () => {
  it('round-trips a data packet, all header fields', () => {
    const bytes = serializePacket({
      kind: 'data',
      seq: 0x7ffffffe,
      position: 3,
      inOrder: false,
      keyFlag: 2,
      retransmitted: true,
      messageNumber: 0x3ffffff,
      timestamp: 0xfffffff0,
      destSocketId: 0x12345678,
      payload: new Uint8Array([1, 2, 3]),
    });
    const p = parsePacket(bytes);
    expect(p.ok && p.value).toMatchObject({ kind: 'data', seq: 0x7ffffffe, position: 3, keyFlag: 2 });
    expect(p.ok && p.value.kind === 'data' && p.value.retransmitted && [...p.value.payload]).toEqual([
      1, 2, 3,
    ]);
  });

  it('round-trips control packets, ACK fields and compressed loss lists', () => {
    const ack = encodeAck({
      lastAckedSeq: 77,
      rttUs: 1000,
      rttVarUs: 500,
      availableBufferPackets: 8000,
      packetsReceivingRate: 100,
      estimatedLinkCapacity: 100,
      receivingRateBytes: 131600,
    });
    const p = parsePacket(
      serializePacket(control(ControlType.ack, { destSocketId: 9, timestamp: 5, info: 3, cif: ack })),
    );
    expect(p.ok && p.value.kind === 'control' && p.value.type).toBe(ControlType.ack);
    if (!p.ok || p.value.kind !== 'control') throw new Error('not control');
    expect(p.value.info).toBe(3);
    expect(decodeAck(p.value.cif)).toMatchObject({ ok: true, value: { lastAckedSeq: 77, rttUs: 1000 } });
    const list = encodeLossList([
      { first: 5, last: 5 },
      { first: 0x7ffffffe, last: 1 },
    ]);
    expect([...list.subarray(0, 8)]).toEqual([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xfe]);
    expect(decodeLossList(list)).toEqual({
      ok: true,
      value: [
        { first: 5, last: 5 },
        { first: 0x7ffffffe, last: 1 },
      ],
    });
  });

  it('rejects truncated and oversized datagrams without throwing', () => {
    expect(parsePacket(new Uint8Array(15)).ok).toBe(false);
    expect(parsePacket(new Uint8Array(1501)).ok).toBe(false);
    expect(decodeLossList(new Uint8Array([0x80, 0, 0, 1])).ok).toBe(false);
    expect(parseHandshake(new Uint8Array(20)).ok).toBe(false);
  });
});

describe('stream id', () => {
  it('reverses bytes per 32-bit word on the wire (libsrt)', () => {
    expect([...encodeStreamIdWire('abcde')]).toEqual([0x64, 0x63, 0x62, 0x61, 0, 0, 0, 0x65]);
    expect(decodeStreamIdWire(encodeStreamIdWire('#!::r=live/key,m=publish'))).toBe(
      '#!::r=live/key,m=publish',
    );
  });

  it('accepts a bare key and the access-control form in any order, refuses request mode', () => {
    expect(parseStreamId('key1')).toEqual({ ok: true, streamKey: 'key1' });
    expect(parseStreamId('#!::m=publish,u=me,r=key2,x=y')).toEqual({ ok: true, streamKey: 'key2' });
    expect(parseStreamId('#!::r=key3')).toEqual({ ok: true, streamKey: 'key3' });
    expect(parseStreamId('#!::r=key4,m=request')).toMatchObject({ ok: false, reject: 1405 });
    expect(parseStreamId('#!::m=publish')).toMatchObject({ ok: false, reject: 1400 });
    expect(parseStreamId('')).toMatchObject({ ok: false });
  });
});

describe('crypto', () => {
  // RFC 3394 §4.1, §4.3, §4.6.
  it.each([
    [
      '000102030405060708090A0B0C0D0E0F',
      '00112233445566778899AABBCCDDEEFF',
      '1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5',
    ],
    [
      '000102030405060708090A0B0C0D0E0F1011121314151617',
      '00112233445566778899AABBCCDDEEFF',
      '96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D',
    ],
    [
      '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F',
      '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F',
      '28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21',
    ],
  ])('key wrap matches RFC 3394 (KEK %s)', (kek, key, wrapped) => {
    expect(
      Buffer.from(aesKeyWrap(hex(kek), hex(key)))
        .toString('hex')
        .toUpperCase(),
    ).toBe(wrapped);
    expect(
      Buffer.from(aesKeyUnwrap(hex(kek), hex(wrapped)) ?? [])
        .toString('hex')
        .toUpperCase(),
    ).toBe(key);
    const tampered = hex(wrapped);
    tampered[3] = (tampered[3] ?? 0) ^ 1;
    expect(aesKeyUnwrap(hex(kek), tampered)).toBeUndefined();
  });

  it('builds the CTR IV from the sequence number and the salt', () => {
    const salt = hex('0102030405060708090a0b0c0d0e0f10');
    expect(Buffer.from(ctrIv(new Uint8Array(16), 0x11223344)).toString('hex')).toBe(
      '00000000000000000000112233440000',
    );
    expect(Buffer.from(ctrIv(salt, 0)).toString('hex')).toBe('0102030405060708090a0b0c0d0e0000');
    const data = new Uint8Array(1316).map((_, i) => i & 0xff);
    const key = hex('000102030405060708090a0b0c0d0e0f');
    expect(aesCtr(key, salt, 9, aesCtr(key, salt, 9, data))).toEqual(data);
  });

  it('unwraps a key material message made with the passphrase, refuses another', () => {
    const salt = hex('00112233445566778899aabbccddeeff');
    const sek = hex('f0e0d0c0b0a090807060504030201000');
    const wrapped = aesKeyWrap(deriveKek('correct horse', salt, 16), sek);
    const km = new Uint8Array([
      0x12,
      0x20,
      0x29,
      0x01,
      0,
      0,
      0,
      0,
      2,
      0,
      2,
      0,
      0,
      0,
      4,
      4,
      ...salt,
      ...wrapped,
    ]);
    const parsed = parseKeyMaterial(km);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(unwrapKeys(parsed.value, 'correct horse')?.even).toEqual(sek);
    expect(unwrapKeys(parsed.value, 'wrong horse!')).toBeUndefined();
  });
});

describe('handshake (stepped clock)', () => {
  const secret = new Uint8Array(32).fill(7);
  const peer = { address: '127.0.0.1', port: 5000 };
  const induction: HandshakeCif = {
    version: 4,
    encryptionField: 0,
    extensionField: 2,
    initialSeq: 1000,
    mtu: 1500,
    flowWindow: 8192,
    handshakeType: HandshakeType.induction,
    socketId: 42,
    cookie: 0,
    peerIp: [0, 0, 0, 0],
    extensions: [],
  };
  const conclusion = (cookie: number, sid = 'key1'): HandshakeCif => ({
    ...induction,
    version: 5,
    extensionField: 5,
    handshakeType: HandshakeType.conclusion,
    cookie,
    extensions: [
      {
        type: ExtType.hsreq,
        content: serializeHsExtension({
          srtVersion: 0x010501,
          flags: 0xbf,
          receiverDelayMs: 120,
          senderDelayMs: 250,
        }),
      },
      { type: ExtType.sid, content: encodeStreamIdWire(sid) },
    ],
  });

  it('answers induction with v5, the SRT magic and a cookie that expires', () => {
    const t0 = 1_000_000;
    const answer = answerInduction(induction, peer, 99, secret, t0);
    expect(answer).toMatchObject({ version: 5, extensionField: 0x4a17, socketId: 99 });
    expect(parseHandshake(serializeHandshake(answer))).toEqual({ ok: true, value: answer });
    expect(readConclusion(conclusion(answer.cookie), '127.0.0.1:5000', secret, t0 + 1000).ok).toBe(true);
    // Another address, a forged cookie, or two buckets later: refused.
    expect(readConclusion(conclusion(answer.cookie), '127.0.0.1:5001', secret, t0).ok).toBe(false);
    expect(readConclusion(conclusion(answer.cookie ^ 1), '127.0.0.1:5000', secret, t0).ok).toBe(false);
    expect(readConclusion(conclusion(answer.cookie), '127.0.0.1:5000', secret, t0 + 200_000).ok).toBe(false);
  });

  it('negotiates latency as the max of both sides and refuses missing or unexpected encryption', () => {
    const t0 = 5_000_000;
    const cookie = synCookie(secret, '127.0.0.1:5000', t0);
    const read = readConclusion(conclusion(cookie), '127.0.0.1:5000', secret, t0);
    if (!read.ok) throw new Error(read.reason);
    expect(read.request.streamKey).toBe('key1');
    const opts = { latencyMs: 120, socketId: 7, peerAddress: '127.0.0.1' };
    const ok = acceptConclusion(read.request, { ...opts, passphrase: null });
    expect(ok).toMatchObject({
      ok: true,
      latencyMs: 250,
      response: { handshakeType: HandshakeType.conclusion },
    });
    expect(acceptConclusion(read.request, { ...opts, passphrase: 'secretsecret' })).toMatchObject({
      ok: false,
      reject: 11,
    });
    const refused = readConclusion(conclusion(cookie, '#!::r=k,m=request'), '127.0.0.1:5000', secret, t0);
    expect(refused).toMatchObject({ ok: false, reject: 1405 });
  });
});
