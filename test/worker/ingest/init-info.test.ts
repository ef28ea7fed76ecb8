import { expect, it } from 'vitest';
import { InitInfoError, readInitInfo } from '../../../src/media/init-info.ts';
import { fixtureInit } from '../support/media.ts';

it('reads codecs and size from the ffmpeg init segment', () => {
  // avcC bytes 1..3 of libx264 High at 320x180: profile 0x64, constraints 0x00, level 0x0c (1.2).
  expect(readInitInfo(fixtureInit)).toEqual({
    codecs: ['avc1.64000c', 'mp4a.40.2'],
    width: 320,
    height: 180,
  });
});

it('gives an InitInfoError, never another exception, for every truncation and a flipped size', () => {
  for (let end = 0; end < fixtureInit.byteLength; end += 7) {
    try {
      readInitInfo(fixtureInit.subarray(0, end));
    } catch (err) {
      expect(err, `truncated at ${end}`).toBeInstanceOf(InitInfoError);
    }
  }
  const corrupt = fixtureInit.slice();
  corrupt[31] = 0xff; // moov size high byte
  expect(() => readInitInfo(corrupt)).toThrow(InitInfoError);
});
