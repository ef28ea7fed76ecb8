import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mp4Error } from '../../../src/vod/boxes.ts';
import { readInitTracks } from '../../../src/vod/init-tracks.ts';
import { Mp4Rewriter } from '../../../src/vod/rewriter.ts';
import { readFragments, trackTimes } from '../../support/cmaf-sessions.ts';
import { B_BASES, concat, init, rewriteRun, sessionA, sessionB } from './fixture-run.ts';

const VIDEO = 1;
const AUDIO = 2;
const TIMESCALE = { [VIDEO]: 12_800, [AUDIO]: 48_000 };

const input = concat([init, ...sessionA, ...sessionB]);
const whole = rewriteRun();

describe('Mp4Rewriter over a reconnect', () => {
  it('keeps every byte count and touches nothing outside the moofs', () => {
    expect(whole.byteLength).toBe(input.byteLength);
    const moofs = readFragments(input).map((f) => {
      const size = new DataView(input.buffer, input.byteOffset + f.moofStart).getUint32(0);
      return [f.moofStart, f.moofStart + size] as const;
    });
    for (let i = 0, m = 0; i < input.byteLength; i++) {
      while (m < moofs.length && (moofs[m]?.[1] ?? 0) <= i) m++;
      const inMoof = m < moofs.length && (moofs[m]?.[0] ?? Infinity) <= i;
      if (!inMoof && input[i] !== whole[i]) throw new Error(`byte ${i} outside any moof changed`);
    }
  });

  it('numbers fragments 1, 2, 3, ... across the sessions', () => {
    const fragments = readFragments(whole);
    expect(fragments).toHaveLength(sessionA.length + sessionB.length);
    expect(fragments.map((f) => f.sequenceNumber)).toEqual(fragments.map((_, i) => i + 1));
  });

  it('makes time continuous: one track exactly, the other with a gap under one sample, A/V sync kept', () => {
    const times = trackTimes(readFragments(whole));
    const boundary = sessionA.length;
    for (const [track, list] of times) {
      expect(list[0]?.start, `track ${track} starts at 0`).toBe(0);
      list.forEach((t, i) => {
        if (i > 0 && i !== boundary) expect(t.start, `track ${track} fragment ${i}`).toBe(list[i - 1]?.end);
      });
    }
    const video = times.get(VIDEO) ?? [];
    const audio = times.get(AUDIO) ?? [];
    const gap = (list: typeof video) => (list[boundary]?.start ?? 0) - (list[boundary - 1]?.end ?? 0);
    // Session A's audio runs 0.0107 s past its video (188 AAC frames): audio decides, video waits.
    expect(gap(audio)).toBe(0);
    expect(gap(video)).toBeGreaterThan(0);
    expect(gap(video)).toBeLessThan(512); // one 25 fps frame at 12.8 kHz
    // Session B's tracks started at the same instant (B_BASES), and still do, to within a tick.
    const videoSeconds = (video[boundary]?.start ?? 0) / TIMESCALE[VIDEO];
    const audioSeconds = (audio[boundary]?.start ?? 0) / TIMESCALE[AUDIO];
    expect(Math.abs(videoSeconds - audioSeconds)).toBeLessThan(1 / TIMESCALE[VIDEO]);
    expect(B_BASES[VIDEO] / TIMESCALE[VIDEO]).toBe(B_BASES[AUDIO] / TIMESCALE[AUDIO]);
  });

  it('gives the same bytes however the input is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1 << 30 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 40 }),
        (seeds, stride) => {
          // Cuts anywhere: through box headers, moofs and mdats, and many in the first 300 bytes (the moof).
          const cuts = (part: Uint8Array) => {
            const set = new Set(seeds.map((s) => s % part.byteLength));
            for (let at = (seeds[0] ?? 0) % 97; at < 300 && at < part.byteLength; at += stride) set.add(at);
            return [...set].filter((c) => c > 0).sort((a, b) => a - b);
          };
          const out = rewriteRun(cuts);
          expect(out.byteLength).toBe(whole.byteLength);
          expect(Buffer.compare(out, whole)).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('one byte at a time gives the same bytes', () => {
    const out = rewriteRun((part) => Array.from({ length: part.byteLength - 1 }, (_, i) => i + 1));
    expect(Buffer.compare(out, whole)).toBe(0);
  });

  it('refuses a session boundary inside a box, and input that stops inside one', () => {
    const rewriter = new Mp4Rewriter(readInitTracks(init));
    rewriter.push((sessionA[0] ?? new Uint8Array()).subarray(0, 100));
    expect(() => rewriter.beginSession()).toThrow(/inside a box/);
    expect(() => rewriter.flush()).toThrow(/inside a box/);
  });

  it('refuses a fragment of a track the init does not declare', () => {
    const part = new Uint8Array(sessionA[0] ?? []);
    const f = readFragments(part)[0];
    const view = new DataView(part.buffer);
    // tfhd track_ID of the first traf: moof(8) + mfhd(16) + traf header(8) + tfhd header(12).
    expect(view.getUint32((f?.moofStart ?? 0) + 44)).toBe(VIDEO);
    view.setUint32(44, 7);
    const rewriter = new Mp4Rewriter(readInitTracks(init));
    expect(() => rewriter.push(part)).toThrow(/track 7/);
  });

  it('on corrupted bytes, fails only with an Mp4Error, and hands out no more bytes than it was given', () => {
    const parts = sessionA.slice(0, 4);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (edits) => {
          const bytes = concat(parts);
          for (const [at, value] of edits) bytes[at % 400] = value; // the first moof and mdat header
          const rewriter = new Mp4Rewriter(readInitTracks(init));
          let out = 0;
          try {
            for (const chunk of rewriter.push(bytes)) out += chunk.byteLength;
            rewriter.flush();
            expect(out).toBe(bytes.byteLength);
          } catch (err) {
            if (!(err instanceof Mp4Error)) throw err;
            expect(out).toBeLessThanOrEqual(bytes.byteLength);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
