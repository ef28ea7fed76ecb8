/**
 * Version 0 tfdt (32-bit baseMediaDecodeTime): the rewriter keeps the 4-byte field, so the file keeps its
 * length, and refuses a time that does not fit rather than wrap it. The fragments are the fixture's real
 * samples, muxed here with a version 0 tfdt (the relay and ffmpeg write version 1).
 */
import { describe, expect, it } from 'vitest';
import { box, fields, fullBox } from '../../../ingest-relay/src/cmaf/box.ts';
import { Mp4Error } from '../../../src/vod/boxes.ts';
import { readInitTracks } from '../../../src/vod/init-tracks.ts';
import { Mp4Rewriter } from '../../../src/vod/rewriter.ts';
import { type ReadFragment, readFragments, trackTimes } from '../../support/cmaf-sessions.ts';
import { concat, init, sessionA } from './fixture-run.ts';

const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000800; // data offset, duration, size, cto
const DEFAULT_BASE_IS_MOOF = 0x020000;

/** `part` muxed again with version 0 tfdts; track `id`'s base moved by `shift[id]` ticks. */
function withTfdtVersion0(part: Uint8Array, shift: Record<number, number> = {}): Uint8Array {
  const [f] = readFragments(part);
  if (!f) throw new Error('no fragment');
  const moof = (offsets: number[]) =>
    box(
      'moof',
      fullBox(
        'mfhd',
        0,
        0,
        fields((w) => w.u32(f.sequenceNumber)),
      ),
      ...f.tracks.map((t, i) =>
        box(
          'traf',
          fullBox(
            'tfhd',
            0,
            DEFAULT_BASE_IS_MOOF,
            fields((w) => w.u32(t.trackId)),
          ),
          fullBox(
            'tfdt',
            0,
            0,
            fields((w) => w.u32(t.baseMediaDecodeTime + (shift[t.trackId] ?? 0))),
          ),
          fullBox(
            'trun',
            0,
            TRUN_FLAGS,
            fields((w) => {
              w.u32(t.samples.length).i32(offsets[i] ?? 0);
              for (const s of t.samples) w.u32(s.duration).u32(s.size).u32(s.cto);
            }),
          ),
        ),
      ),
    );
  const size = moof(f.tracks.map(() => 0)).byteLength;
  const payloads = f.tracks.map((t) =>
    concat(t.samples.map((s) => part.subarray(s.offset, s.offset + s.size))),
  );
  const offsets: number[] = [];
  let at = size + 8;
  for (const p of payloads) {
    offsets.push(at);
    at += p.byteLength;
  }
  return concat([moof(offsets), box('mdat', ...payloads)]);
}

function tfdtVersions(bytes: Uint8Array, fragments: ReadFragment[]): number[] {
  // moof(8) + mfhd(16) + traf(8) + tfhd(16) puts the first tfdt's version byte at +56.
  return fragments.map((f) => bytes[f.moofStart + 56] ?? -1);
}

describe('a version 0 tfdt', () => {
  it('stays 4 bytes and carries the rebased time', () => {
    const a = sessionA.slice(0, 5).map((p) => withTfdtVersion0(p));
    const b = sessionA.slice(0, 5).map((p) => withTfdtVersion0(p, { 1: 1_000_000, 2: 3_750_000 }));
    const rewriter = new Mp4Rewriter(readInitTracks(init));
    const out: Uint8Array[] = [];
    for (const session of [a, b]) {
      rewriter.beginSession();
      for (const part of session) out.push(...rewriter.push(part));
    }
    rewriter.flush();
    const bytes = concat(out);
    expect(bytes.byteLength).toBe(concat([...a, ...b]).byteLength);
    const fragments = readFragments(bytes);
    expect(tfdtVersions(bytes, fragments)).toEqual(fragments.map(() => 0));
    const video = trackTimes(fragments).get(1) ?? [];
    expect(video[5]?.start ?? 0).toBeGreaterThanOrEqual(video[4]?.end ?? Infinity);
    expect((video[5]?.start ?? 0) - (video[4]?.end ?? 0)).toBeLessThan(512);
  });

  it('refuses a rebased time past 2^32 ticks instead of wrapping it', () => {
    const rewriter = new Mp4Rewriter(readInitTracks(init));
    rewriter.beginSession();
    // Session A jumps to just under 2^32 ticks (a jump inside a session is kept as it is) ...
    rewriter.push(withTfdtVersion0(sessionA[0] ?? new Uint8Array()));
    rewriter.push(
      withTfdtVersion0(sessionA[1] ?? new Uint8Array(), { 1: 0xfffff000 - 2560, 2: 0xffffd000 - 10240 }),
    );
    // ... so session B, which follows on from its end, cannot be written in 32 bits.
    rewriter.beginSession();
    expect(() => rewriter.push(withTfdtVersion0(sessionA[0] ?? new Uint8Array()))).toThrow(Mp4Error);
    expect(() => rewriter.push(withTfdtVersion0(sessionA[0] ?? new Uint8Array()))).toThrow(/version 0/);
  });
});
