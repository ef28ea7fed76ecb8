/**
 * H.264 SEI messages (ISO 14496-10 7.3.2.3.1 sei_message, D.1.6 user_data_registered_itu_t_t35) and the one
 * payload the relay looks for in them: CEA-608/708 captions carried as ATSC A/53 Part 4 cc_data (the
 * ATSC_user_data and cc_data() syntax; SCTE 128-1 puts the same structure in H.264 SEI). The multivariant
 * playlist declares CLOSED-CAPTIONS from this (RFC 8216bis 4.4.6.2).
 */
import { ByteReader } from './bytes.ts';
import { NalType, nalType, removeEmulationPrevention } from './h264.ts';

/** payloadType of user_data_registered_itu_t_t35 (Annex D, Table D-1). */
const USER_DATA_REGISTERED_T35 = 4;
/** itu_t_t35_country_code of the United States (ITU-T T.35 Annex A), as ATSC A/53 uses it. */
const COUNTRY_USA = 0xb5;
/** itu_t_t35_provider_code of ATSC (A/53 Part 4). */
const PROVIDER_ATSC = 0x0031;
/** user_identifier 'GA94': ATSC_user_data follows (A/53 Part 4). */
const GA94 = 0x47413934;
/** user_data_type_code of cc_data() (A/53 Part 4; 0x06 would be bar_data). */
const CC_DATA = 0x03;

/**
 * True when one of `nals` (one access unit's NAL units, each with its 1-byte header) is an SEI with A/53
 * cc_data that the encoder asks decoders to process (process_cc_data_flag set, cc_count > 0). Null padding
 * pairs count: the caption channel has a fixed rate (cc_count per picture follows from the frame rate), so an
 * encoder with a caption channel sends cc_data in every picture, and a channel with nothing said yet is still
 * a channel. Malformed SEI is no captions, never an error: SEI is optional to decoders (D.1).
 */
export function carriesA53Captions(nals: readonly Uint8Array[]): boolean {
  for (const nal of nals) if (nalType(nal) === NalType.sei && seiHasA53Captions(nal)) return true;
  return false;
}

function seiHasA53Captions(nal: Uint8Array): boolean {
  const r = new ByteReader(removeEmulationPrevention(nal.subarray(1)));
  // 7.3.2.3: sei_message()s until rbsp_trailing_bits (0x80 as the last byte).
  while (r.remaining > 1 && r.error === undefined) {
    const type = ffCoded(r);
    const size = ffCoded(r);
    const payload = r.bytes(size);
    if (r.error !== undefined) return false;
    if (type === USER_DATA_REGISTERED_T35 && isA53CcData(payload)) return true;
  }
  return false;
}

/** payloadType / payloadSize (7.3.2.3.1): a run of 0xFF bytes, each adding 255, then the last byte. */
function ffCoded(r: ByteReader): number {
  let value = 0;
  let byte = r.u8();
  while (byte === 0xff && r.error === undefined) {
    value += 255;
    byte = r.u8();
  }
  return value + byte;
}

/** A user_data_registered_itu_t_t35 payload holding ATSC_user_data with cc_data (A/53 Part 4). */
function isA53CcData(payload: Uint8Array): boolean {
  const r = new ByteReader(payload);
  if (r.u8() !== COUNTRY_USA) return false; // 0xFF would be followed by an extension byte: never A/53
  if (r.u16() !== PROVIDER_ATSC || r.u32() !== GA94 || r.u8() !== CC_DATA) return false;
  // cc_data(): reserved(1) process_cc_data_flag(1) zero_bit(1) cc_count(5), reserved(8), then cc_count
  // triplets of marker_bits(5) cc_valid(1) cc_type(2) cc_data_1(8) cc_data_2(8).
  const flags = r.u8();
  const processCcData = (flags & 0x40) !== 0;
  const ccCount = flags & 0x1f;
  r.skip(1 + 3 * ccCount);
  return r.error === undefined && processCcData && ccCount > 0;
}
