// Throughput of the MP4 download rewriter (src/vod/rewriter.ts), in Node, on one core: runs of sessions
// alternating between the ffmpeg fixture parts (tfdt from 0) and the same samples muxed again by the relay at
// a base past 2^32, so every session boundary is rebased. Each part is pushed in 64 KB chunks, as R2 streams
// deliver them.
//   fixture:   the parts as they are (150 kb/s, ~3.6 KB a part): the moof path dominates, the worst case;
//   x40:       the same moofs with every sample's bytes repeated 40 times (136 KB parts: 5.4 Mb/s),
//              a synthetic payload: the rewriter passes mdat bytes through unread.
//
//   npm run bench -- vod-rewrite

import { readInitTracks } from '../src/vod/init-tracks.ts';
import { Mp4Rewriter } from '../src/vod/rewriter.ts';
import { refragment } from '../test/support/cmaf-sessions.ts';
import { loadFixture, round, writeResult } from './lib.ts';

const CHUNK = 64 * 1024;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

const fixture = loadFixture();
const init = new Uint8Array(fixture.init);
const tracks = readInitTracks(init);
const a = fixture.parts.map((p) => new Uint8Array(p.bytes));

function sessionsFor(scale: number): Uint8Array[][] {
  const repeat = (data: Uint8Array) => {
    const out = new Uint8Array(data.byteLength * scale);
    for (let i = 0; i < scale; i++) out.set(data, i * data.byteLength);
    return out;
  };
  return [
    refragment(a, { 1: 0, 2: 0 }, 1, repeat),
    refragment(a, { 1: 5_000_000_000, 2: 18_750_000_000 }, 1, repeat),
  ];
}

function measure(name: string, scale: number) {
  const sessions = sessionsFor(scale);
  const bytesPerPass = sessions.flat().reduce((n, p) => n + p.byteLength, 0);
  const partsPerPass = sessions.flat().length;
  let bytes = 0;
  let parts = 0;
  const started = performance.now();
  let sink = 0;
  const rewriter = new Mp4Rewriter(tracks);
  while (performance.now() - started < SECONDS * 1000) {
    for (const session of sessions) {
      rewriter.beginSession();
      for (const part of session) {
        for (let at = 0; at < part.byteLength; at += CHUNK) {
          for (const out of rewriter.push(part.subarray(at, at + CHUNK))) sink += out.byteLength;
        }
      }
    }
    bytes += bytesPerPass;
    parts += partsPerPass;
  }
  const seconds = (performance.now() - started) / 1000;
  if (sink !== bytes) throw new Error('output length differs from input');
  return {
    name,
    averagePartBytes: Math.round(bytesPerPass / partsPerPass),
    megabytesPerSecond: round(bytes / seconds / 1e6, 0),
    partsPerSecond: Math.round(parts / seconds),
    microsecondsPerPart: round((seconds / parts) * 1e6, 2),
  };
}

writeResult('vod-rewrite.json', {
  seconds: SECONDS,
  chunkBytes: CHUNK,
  runs: [measure('fixture', 1), measure('payload x40 (5.4 Mb/s)', 40)],
});
