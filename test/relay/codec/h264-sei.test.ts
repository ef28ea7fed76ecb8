/**
 * A/53 caption detection in H.264 SEI: SEI built per the spec (a53-captions.ts), x264's own SEI from a real
 * encode, and the near misses (other ATSC user data, flags off, truncation) that must not count as captions.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NalType, nalType, splitAnnexB } from '../../../ingest-relay/src/codec/h264.ts';
import { carriesA53Captions } from '../../../ingest-relay/src/codec/h264-sei.ts';
import { makeElementaryStreams, withTempDir } from '../../support/ffmpeg.ts';
import { a53CaptionSei, EDM, unregisteredSei } from './a53-captions.ts';

/** One SEI NAL unit holding the messages of `seis` in order (each without its header and trailing bits). */
function oneSei(...seis: Uint8Array[]): Uint8Array {
  return Uint8Array.from([0x06, ...seis.flatMap((s) => [...s.subarray(1, -1)]), 0x80]);
}

let x264Sei: Uint8Array;
beforeAll(async () => {
  await withTempDir(async (dir) => {
    const { h264 } = await makeElementaryStreams(dir, { seconds: 1 });
    x264Sei = splitAnnexB(h264).find((n) => nalType(n) === NalType.sei)!;
  });
}, 30_000);

describe('carriesA53Captions', () => {
  it('finds cc_data in an SEI, also after other messages and with 0xFF-coded sizes', () => {
    const captions = a53CaptionSei([EDM, [0x80, 0x80]]);
    expect(carriesA53Captions([captions])).toBe(true);
    expect(x264Sei.byteLength).toBeGreaterThan(300); // payloadSize coded as 0xFF runs
    expect(carriesA53Captions([x264Sei])).toBe(false);
    expect(carriesA53Captions([x264Sei, captions])).toBe(true);
    expect(carriesA53Captions([oneSei(x264Sei, captions)])).toBe(true);
    expect(carriesA53Captions([oneSei(unregisteredSei('x'.repeat(300)), captions)])).toBe(true);
  });

  it('ignores other user data, cc_data not to be processed, empty cc_data and non-SEI units', () => {
    expect(carriesA53Captions([a53CaptionSei([EDM], { userDataTypeCode: 0x06 })])).toBe(false); // bar_data
    expect(carriesA53Captions([a53CaptionSei([EDM], { userIdentifier: 0x44544731 })])).toBe(false); // 'DTG1' AFD
    expect(carriesA53Captions([a53CaptionSei([EDM], { processCcData: false })])).toBe(false);
    expect(carriesA53Captions([a53CaptionSei([])])).toBe(false);
    const notSei = a53CaptionSei([EDM]).slice();
    notSei[0] = 0x01; // the same bytes as a non-IDR slice
    expect(carriesA53Captions([notSei])).toBe(false);
    expect(carriesA53Captions([])).toBe(false);
  });

  it('takes truncated SEI as no captions, without throwing', () => {
    const whole = a53CaptionSei([EDM, EDM, EDM]);
    for (let end = 1; end < whole.byteLength - 2; end++) {
      expect(carriesA53Captions([whole.subarray(0, end)])).toBe(false);
    }
  });
});
