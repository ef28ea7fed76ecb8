/**
 * The ladder's MPEG-TS muxer read back by the relay's own TS demuxer: every access unit of real x264 output
 * (B-frames, so PTS and DTS differ) comes back with its timestamps, keyframe flag and NAL units, in packets of
 * 188 bytes with continuity counters in order and PAT/PMT before every keyframe.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import { crc32Mpeg, TsVideoMuxer } from '../../../ingest-relay/src/ladder/ts-mux.ts';
import type { AccessUnit } from '../../../ingest-relay/src/media/access-unit.ts';
import { makeDemuxEvents } from '../cmaf/fixture.ts';

let dir: string;
let units: AccessUnit[];
let avcC: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ts-mux-'));
  const made = await makeDemuxEvents(dir, {
    timescale: 90_000,
    seconds: 2,
    bframes: 2,
    gop: 15,
    audio: false,
  });
  avcC = made.avcC;
  units = made.events.flatMap((e) => (e.type === 'unit' && e.unit.kind === 'video' ? [e.unit] : []));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('TsVideoMuxer', () => {
  it('muxes access units that the relay demuxes back unchanged', () => {
    const muxer = new TsVideoMuxer(avcC);
    const demuxer = new TsDemuxer();
    const back: AccessUnit[] = [];
    const offset = 90_000;
    for (const u of units) {
      const ts = muxer.frame({
        dts: u.dts + offset,
        pts: u.pts + offset,
        keyframe: u.keyframe,
        avcc: u.data,
      });
      expect(ts.byteLength % 188).toBe(0);
      for (const ev of demuxer.push(ts, 0)) if (ev.type === 'unit') back.push(ev.unit);
    }
    for (const ev of demuxer.flush()) if (ev.type === 'unit') back.push(ev.unit);
    expect(units.some((u) => u.pts !== u.dts)).toBe(true);
    expect(back).toHaveLength(units.length);
    back.forEach((b, i) => {
      const u = units[i]!;
      expect({ dts: b.dts - offset, pts: b.pts - offset, keyframe: b.keyframe }).toEqual({
        dts: u.dts,
        pts: u.pts,
        keyframe: u.keyframe,
      });
      expect(Buffer.from(b.data).equals(Buffer.from(u.data))).toBe(true);
    });
  });

  it('counts continuity per PID and puts PAT and PMT before each keyframe only', () => {
    const muxer = new TsVideoMuxer(avcC);
    const cc = new Map<number, number>();
    for (const u of units.slice(0, 40)) {
      const ts = muxer.frame({ dts: u.dts, pts: u.pts, keyframe: u.keyframe, avcc: u.data });
      const pids: number[] = [];
      for (let at = 0; at < ts.byteLength; at += 188) {
        expect(ts[at]).toBe(0x47);
        const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
        const counter = ts[at + 3]! & 0x0f;
        if (cc.has(pid)) expect(counter).toBe((cc.get(pid)! + 1) & 0x0f);
        cc.set(pid, counter);
        pids.push(pid);
      }
      expect(pids.slice(0, 2)).toEqual(u.keyframe ? [0, 0x1000] : [0x100, pids[1] ?? 0x100]);
      if (!u.keyframe) expect(pids.every((p) => p === 0x100)).toBe(true);
    }
  });

  it('computes CRC-32/MPEG-2 (check value of "123456789")', () => {
    expect(crc32Mpeg(new TextEncoder().encode('123456789'))).toBe(0x0376e6e7);
  });
});
