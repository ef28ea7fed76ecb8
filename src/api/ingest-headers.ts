/**
 * The relay's upload headers (src/contract/ingest.ts `InitHeaders`, `PartHeaders`) read into typed values. A
 * malformed header is a 400 naming it: the relay is ours, so a bad value is a bug to surface, never to guess at.
 */
import {
  InitHeaders,
  PartHeaders,
  parseSfBoolean,
  RENDITION_PATTERN,
  SOURCE_RENDITION,
} from '../contract/ingest.ts';
import { MAX_RUNGS } from '../contract/ladder.ts';
import type { InitInfo } from '../media/init-info.ts';
import type { InitRecord } from '../stream/model.ts';
import { ApiError } from './errors.ts';

type Header = (name: string) => string | undefined;

const CODECS_PATTERN = /^[A-Za-z0-9.]{1,40}(,[A-Za-z0-9.]{1,40}){0,3}$/;
const RESOLUTION_PATTERN = /^([0-9]{1,5})x([0-9]{1,5})$/;
/** `ingest-bandwidth`: a decimal integer of bits per second. */
const BANDWIDTH_PATTERN = /^[0-9]{1,10}$/;
/** Bits per second above which a nominal bandwidth is a bug, not a rung (the ladder tops out at 20 Mb/s video). */
const MAX_NOMINAL_BANDWIDTH = 100_000_000;
/** `ingest-duration`: decimal seconds, at most 6 fractional digits. */
const DURATION_PATTERN = /^[0-9]{1,4}(\.[0-9]{1,6})?$/;

function bad(name: string): ApiError {
  return new ApiError(400, 'bad-request', `bad ${name}`);
}

/** Codecs and size from the headers, for a sample entry the init walker does not read; null without codecs. */
export function initInfoFromHeaders(header: Header): InitInfo | null {
  const codecs = header(InitHeaders.codecs);
  if (!codecs || !CODECS_PATTERN.test(codecs)) return null;
  const info: InitInfo = { codecs: codecs.split(',') };
  const size = RESOLUTION_PATTERN.exec(header(InitHeaders.resolution) ?? '');
  if (size) {
    info.width = Number(size[1]);
    info.height = Number(size[2]);
  }
  return info;
}

/**
 * The init record's fields the bytes do not carry: frame rate (EXT-X-STREAM-INF FRAME-RATE), the rung's nominal
 * bandwidth (advertised until the rendition is measured, RFC 8216bis 4.4.6.2) and whether the video carries
 * CEA-608/708 captions (CLOSED-CAPTIONS, 4.4.6.2). Absent headers stay absent.
 */
export function initExtras(
  header: Header,
): Pick<InitRecord, 'frameRate' | 'bandwidth' | 'closedCaptions' | 'ladder'> {
  const extras: Pick<InitRecord, 'frameRate' | 'bandwidth' | 'closedCaptions' | 'ladder'> = {};
  const frameRate = header(InitHeaders.frameRate);
  if (frameRate !== undefined) {
    const fps = Number(frameRate);
    if (!(fps > 0 && fps <= 1000)) throw bad(InitHeaders.frameRate);
    extras.frameRate = fps;
  }
  const bandwidth = header(InitHeaders.bandwidth);
  if (bandwidth !== undefined) {
    const bps = Number(bandwidth);
    if (!BANDWIDTH_PATTERN.test(bandwidth) || bps <= 0 || bps > MAX_NOMINAL_BANDWIDTH) {
      throw bad(InitHeaders.bandwidth);
    }
    extras.bandwidth = bps;
  }
  const captions = header(InitHeaders.closedCaptions);
  if (captions !== undefined) {
    const flag = parseSfBoolean(captions);
    if (flag === undefined) throw bad(InitHeaders.closedCaptions);
    extras.closedCaptions = flag;
  }
  const renditions = header(InitHeaders.renditions);
  if (renditions !== undefined && renditions.trim() !== '') {
    const ids = renditions.split(',').map((r) => r.trim());
    if (ids.length > MAX_RUNGS || ids.some((id) => !RENDITION_PATTERN.test(id) || id === SOURCE_RENDITION)) {
      throw bad(InitHeaders.renditions);
    }
    extras.ladder = ids;
  }
  return extras;
}

/** A part upload's headers (everything but its numbers and size). */
export interface PartFields {
  /** Seconds. */
  duration: number;
  independent: boolean;
  /** Epoch ms. */
  programDateTime: number;
  segmentEnd: boolean;
  /** The rendition has no media for this part: the body is empty (PartHeaders.gap). */
  gap: boolean;
}

export function partFields(header: Header): PartFields {
  const duration = header(PartHeaders.duration) ?? '';
  if (!DURATION_PATTERN.test(duration)) throw bad(PartHeaders.duration);
  const independent = parseSfBoolean(header(PartHeaders.independent) ?? null);
  if (independent === undefined) throw bad(PartHeaders.independent);
  const segmentEnd = parseSfBoolean(header(PartHeaders.segmentEnd) ?? '?0');
  if (segmentEnd === undefined) throw bad(PartHeaders.segmentEnd);
  const gap = parseSfBoolean(header(PartHeaders.gap) ?? '?0');
  if (gap === undefined) throw bad(PartHeaders.gap);
  const programDateTime = Date.parse(header(PartHeaders.programDateTime) ?? '');
  if (Number.isNaN(programDateTime)) throw bad(PartHeaders.programDateTime);
  return { duration: Number(duration), independent, programDateTime, segmentEnd, gap };
}
