/**
 * A two-session run from real media, for the rewriter's Node tests: session A is the committed ffmpeg parts
 * (test/fixtures/media, tfdt from 0), session B the same samples muxed again by the relay's fragment() at a
 * base past 2^32 ticks, with other sequence numbers, as after a failover to a backup encoder.
 */
import { readFileSync } from 'node:fs';
import { readInitTracks } from '../../../src/vod/init-tracks.ts';
import { Mp4Rewriter } from '../../../src/vod/rewriter.ts';
import { refragment } from '../../support/cmaf-sessions.ts';

const dir = new URL('../../fixtures/media/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  parts: { offset: number; size: number }[];
};
const allParts = new Uint8Array(readFileSync(new URL('parts.mp4', dir)));

export const init = new Uint8Array(readFileSync(new URL('init.mp4', dir)));
export const sessionA = manifest.parts.map((p) => allParts.subarray(p.offset, p.offset + p.size));
/** Video at 12.8 kHz, audio at 48 kHz: the same instant, 390,625 s in. */
export const B_BASES = { 1: 5_000_000_000, 2: 18_750_000_000 };
export const sessionB = refragment(sessionA, B_BASES, 9000);
export const sessions = [sessionA, sessionB];

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The run rewritten, each part pushed in pieces cut at `cuts(part)` (offsets inside the part). */
export function rewriteRun(cuts: (part: Uint8Array) => number[] = () => []): Uint8Array {
  const rewriter = new Mp4Rewriter(readInitTracks(init));
  const out: Uint8Array[] = [init];
  for (const session of sessions) {
    rewriter.beginSession();
    for (const part of session) {
      let from = 0;
      for (const cut of [...cuts(part), part.byteLength]) {
        out.push(...rewriter.push(part.subarray(from, cut)));
        from = cut;
      }
    }
  }
  rewriter.flush();
  return concat(out);
}
