import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BitReader, ByteReader, ByteWriter } from '../../../ingest-relay/src/codec/bytes.ts';
import {
  annexBToAvcc,
  avcCodecString,
  buildAvcC,
  isIdr,
  NalType,
  nalType,
  parseAvcC,
  parseSps,
  profileName,
  removeEmulationPrevention,
  splitAnnexB,
  splitAvcc,
} from '../../../ingest-relay/src/codec/h264.ts';
import { makeElementaryStreams, withTempDir } from '../../support/ffmpeg.ts';

describe('ByteReader / BitReader / ByteWriter', () => {
  it('reads big-endian and sets a sticky error past the end', () => {
    const r = new ByteReader(new Uint8Array([1, 2, 3, 4, 5]));
    expect(r.u16()).toBe(0x0102);
    expect(r.u24()).toBe(0x030405);
    expect(r.error).toBeUndefined();
    expect(r.u8()).toBe(0);
    expect(r.error).toMatch(/past the end/);
    expect(r.bytes(1).byteLength).toBe(0);
  });

  it('decodes Exp-Golomb codes (ISO 14496-10 9.1)', () => {
    // 1 | 010 | 011 | 00100 | 00101 -> ue 0, 1, 2, 3, 4; then se from 010 (=1) and 011 (=-1)
    const b = new BitReader(new Uint8Array([0b10100110, 0b01000010, 0b10100110]));
    expect([b.readUE(), b.readUE(), b.readUE(), b.readUE(), b.readUE()]).toEqual([0, 1, 2, 3, 4]);
    expect([b.readSE(), b.readSE()]).toEqual([1, -1]);
    expect(b.error).toBeUndefined();
    b.readUE();
    expect(b.error).toBeDefined();
  });

  it('writes u8..u64 and grows', () => {
    const w = new ByteWriter(2);
    w.u8(1)
      .u16(0x0203)
      .u24(0x040506)
      .u32(0x0708090a)
      .u64(2 ** 40 + 11)
      .bytes(new Uint8Array([7, 7]));
    expect([...w.finish()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 1, 0, 0, 0, 0, 11, 7, 7]);
  });
});

describe('H.264 from a real x264 stream', () => {
  let nals: Uint8Array[] = [];
  beforeAll(async () => {
    await withTempDir(async (dir) => {
      // 320x180 is not a multiple of 16: the SPS must carry frame cropping (180 = 192 - 12).
      const { h264 } = await makeElementaryStreams(dir, { seconds: 1, gop: 10 });
      nals = splitAnnexB(h264);
    });
  }, 60_000);

  it('splits Annex B on 3- and 4-byte start codes', () => {
    const types = nals.map(nalType);
    expect(types[0]).toBe(NalType.aud);
    expect(types.filter((t) => t === NalType.aud)).toHaveLength(30);
    expect(types.filter((t) => t === NalType.idr)).toHaveLength(3);
    expect(nals.filter(isIdr)).toHaveLength(3);
    const mixed = new Uint8Array([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x65, 0x88, 0x80, 0, 0, 0, 1, 0x41, 0x9a]);
    expect(splitAnnexB(mixed).map((n) => [...n])).toEqual([
      [0x09, 0xf0],
      [0x65, 0x88, 0x80],
      [0x41, 0x9a],
    ]);
  });

  it('splits any bytes where a byte-by-byte scan for 00 00 01 does', () => {
    // The scan as the spec reads: each 00 00 01 starts a NAL unit, zeros before a start code are trailing.
    const reference = (b: Uint8Array): number[][] => {
      const out: number[][] = [];
      let start = -1;
      const push = (end: number) => {
        let e = end;
        while (e > start && b[e - 1] === 0) e--;
        if (e > start) out.push([...b.subarray(start, e)]);
      };
      for (let i = 0; i + 2 < b.byteLength; i++) {
        if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
          if (start >= 0) push(i);
          start = i + 3;
          i += 2;
        }
      }
      if (start >= 0) push(b.byteLength);
      return out;
    };
    // Bytes drawn mostly from 0, 1 and 3 so start codes, runs of zeros and emulation bytes are common.
    const bytes = fc.array(fc.oneof(fc.constantFrom(0, 0, 1, 3), fc.integer({ min: 0, max: 255 })), {
      maxLength: 64,
    });
    fc.assert(
      fc.property(bytes, (arr) => {
        const b = new Uint8Array(arr);
        expect(splitAnnexB(b).map((n) => [...n])).toEqual(reference(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('parses the SPS: size after cropping, profile, level, VUI frame rate', () => {
    const sps = nals.find((n) => nalType(n) === NalType.sps);
    expect(sps).toBeDefined();
    const info = parseSps(sps!);
    expect(info.ok).toBe(true);
    if (!info.ok) return;
    expect(info.value).toMatchObject({ width: 320, height: 180, profileIdc: 100, frameMbsOnly: true });
    expect(info.value.levelIdc).toBeGreaterThan(0);
    expect(info.value.frameRate).toBe(30);
    expect(profileName(info.value.profileIdc)).toBe('High');
  });

  it('builds and parses an avcC, and names the codec', () => {
    const sps = nals.find((n) => nalType(n) === NalType.sps)!;
    const pps = nals.filter((n) => nalType(n) === NalType.pps).slice(0, 1);
    const avcC = buildAvcC(sps, pps);
    const cfg = parseAvcC(avcC);
    expect(cfg.ok).toBe(true);
    if (!cfg.ok) return;
    expect(cfg.value.nalLengthSize).toBe(4);
    expect([...cfg.value.sps[0]!]).toEqual([...sps]);
    expect(cfg.value.pps).toHaveLength(1);
    expect(avcCodecString(avcC)).toBe(
      `avc1.64${sps[2]!.toString(16).padStart(2, '0')}${sps[3]!.toString(16).padStart(2, '0')}`,
    );
  });

  it('converts an access unit to AVCC, dropping AUD/SPS/PPS, and splits it back', () => {
    const firstAu = nals.slice(
      0,
      nals.findIndex((n, i) => i > 0 && nalType(n) === NalType.aud),
    );
    const sample = annexBToAvcc(firstAu);
    const back = splitAvcc(sample, 4);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.value.map(nalType)).toEqual(
      firstAu.map(nalType).filter((t) => t !== NalType.aud && t !== NalType.sps && t !== NalType.pps),
    );
    expect(back.value.some(isIdr)).toBe(true);
  });

  it('rejects malformed input with a reason instead of throwing', () => {
    expect(parseAvcC(new Uint8Array([1, 100, 0]))).toMatchObject({ ok: false });
    expect(parseAvcC(new Uint8Array([2, 100, 0, 31, 0xff, 0xe0, 0]))).toMatchObject({ ok: false });
    expect(parseSps(new Uint8Array([0x67, 100]))).toMatchObject({ ok: false });
    expect(parseSps(new Uint8Array([0x68, 1, 2, 3]))).toMatchObject({ ok: false });
    expect(splitAvcc(new Uint8Array([0, 0, 0, 9, 1]), 4)).toMatchObject({ ok: false });
    const sps = nals.find((n) => nalType(n) === NalType.sps)!;
    for (let cut = 1; cut < sps.byteLength - 1; cut++) {
      const r = parseSps(sps.subarray(0, cut));
      if (r.ok) expect(r.value.width).toBeGreaterThan(0);
    }
  });

  it('removes emulation prevention bytes', () => {
    expect([...removeEmulationPrevention(new Uint8Array([1, 0, 0, 3, 1, 0, 0, 3, 0, 3]))]).toEqual([
      1, 0, 0, 1, 0, 0, 0, 3,
    ]);
  });
});
