/**
 * One `MediaPlaylist` value per playlist shape the origin serves, built the way the Durable Object's state
 * would yield them: 25 fps video, 0.4 s parts of 10 frames, 2 s segments of 5 parts, URIs from the playback
 * contract. The golden files in test/fixtures/golden are these values rendered.
 */
import { relativeMediaUri } from '../../../src/contract/playback.ts';
import { skipBoundary } from '../../../src/hls/directives.ts';
import type { MediaPlaylist, PartEntry, SegmentEntry, ServerControl } from '../../../src/hls/model.ts';

/** The event whose media playlists these are (their URIs name it, src/contract/playback.ts). */
export const EVENT = 'ev_k3n7q2xw5tb4m6ra';

/** 2026-01-15T12:00:00.123Z, epoch milliseconds. */
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0, 123);
export const SEGMENT_MS = 2000;
const PARTS_PER_SEGMENT = 5;
const PART_DURATION = 0.4;

const serverControl: ServerControl = {
  canBlockReload: true,
  canSkipUntil: 12,
  holdBack: 6,
  partHoldBack: 1.2,
};

export function parts(session: string, msn: number, count: number, duration = PART_DURATION): PartEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    uri: relativeMediaUri.part(session, msn, i),
    duration,
    // Keyframes every segment (2 s GOP): only part 0 starts with one.
    independent: i === 0,
  }));
}

interface SegmentOptions {
  session?: string;
  withParts?: boolean;
  discontinuity?: boolean;
  partDuration?: number;
  partsPerSegment?: number;
  /** Wall-clock gap before this segment's session started, milliseconds. */
  clockShiftMs?: number;
}

export function segment(msn: number, options: SegmentOptions = {}): SegmentEntry {
  const session = options.session ?? 's1';
  const partDuration = options.partDuration ?? PART_DURATION;
  const count = options.partsPerSegment ?? PARTS_PER_SEGMENT;
  const segmentParts = parts(session, msn, count, partDuration);
  return {
    msn,
    uri: relativeMediaUri.segment(session, msn),
    // Summed the way state would sum its parts' durations.
    duration: segmentParts.reduce((sum, p) => sum + p.duration, 0),
    parts: options.withParts ? segmentParts : [],
    discontinuity: options.discontinuity ?? false,
    programDateTime: T0 + (msn - 100) * SEGMENT_MS + (options.clockShiftMs ?? 0),
    mapUri: relativeMediaUri.init(session),
  };
}

export function base(overrides: Partial<MediaPlaylist>): MediaPlaylist {
  return {
    version: 6,
    targetDuration: 2,
    partTarget: PART_DURATION,
    mediaSequence: 100,
    discontinuitySequence: 0,
    serverControl,
    segments: [],
    openSegment: null,
    preloadHint: null,
    renditionReports: [],
    skippedSegments: 0,
    skipV2: false,
    ended: false,
    ...overrides,
  };
}

/** Segments 100..last, parts listed on the last `withParts` of them (3 target durations, 6.2.2). */
export function liveSegments(last: number, withParts: number, first = 100): SegmentEntry[] {
  const out: SegmentEntry[] = [];
  for (let msn = first; msn <= last; msn++) out.push(segment(msn, { withParts: msn > last - withParts }));
  return out;
}

/** Six complete segments, the last two with parts; the next part is hinted. */
export const liveWindow = base({
  segments: liveSegments(105, 2),
  preloadHint: { uri: relativeMediaUri.part('s1', 106, 0) },
});

/** The open segment 106 has three parts so far; part 3 is hinted; one other rendition reported. */
export const openSegment = base({
  segments: liveSegments(105, 2),
  openSegment: {
    msn: 106,
    parts: parts('s1', 106, 3),
    programDateTime: T0 + 6 * SEGMENT_MS,
    discontinuity: false,
    mapUri: relativeMediaUri.init('s1'),
  },
  preloadHint: { uri: relativeMediaUri.part('s1', 106, 3) },
  renditionReports: [{ uri: relativeMediaUri.rendition('360p', EVENT), lastMsn: 106, lastPart: 2 }],
});

/** Twelve complete segments (24 s) and an open one; the Skip Boundary is 12 s. */
function delta(skipV2: boolean): MediaPlaylist {
  const all = liveSegments(111, 2);
  const skipped = skipBoundary(
    all.map((s) => s.duration),
    12,
  );
  return base({
    version: skipV2 ? 10 : 9,
    serverControl: { ...serverControl, canSkipDateRanges: skipV2 },
    segments: all.slice(skipped),
    openSegment: {
      msn: 112,
      parts: parts('s1', 112, 2),
      programDateTime: T0 + 12 * SEGMENT_MS,
      discontinuity: false,
      mapUri: relativeMediaUri.init('s1'),
    },
    preloadHint: { uri: relativeMediaUri.part('s1', 112, 2) },
    renditionReports: [{ uri: relativeMediaUri.rendition('360p', EVENT), lastMsn: 112, lastPart: 1 }],
    skippedSegments: skipped,
    skipV2,
  });
}

export const deltaYes = delta(false);
export const deltaV2 = delta(true);

/** A three-rendition ladder seen from 720p: one report for each other rendition. */
export const renditionReports = base({
  segments: liveSegments(103, 2),
  openSegment: {
    msn: 104,
    parts: parts('s1', 104, 1),
    programDateTime: T0 + 4 * SEGMENT_MS,
    discontinuity: false,
    mapUri: relativeMediaUri.init('s1'),
  },
  preloadHint: { uri: relativeMediaUri.part('s1', 104, 1) },
  renditionReports: [
    { uri: relativeMediaUri.rendition('1080p', EVENT), lastMsn: 104, lastPart: 0 },
    // This rendition is one part behind: its newest part is the last of segment 103.
    { uri: relativeMediaUri.rendition('360p', EVENT), lastMsn: 103, lastPart: 4 },
  ],
});

/** The encoder reconnected after segment 102: session s2 starts at 103 with a new init segment. */
export const discontinuity = base({
  segments: [
    ...liveSegments(102, 0),
    // Session s2 started 30 s of wall clock later.
    segment(103, { session: 's2', discontinuity: true, clockShiftMs: 30_000 }),
    segment(104, { session: 's2', withParts: true, clockShiftMs: 30_000 }),
  ],
  openSegment: {
    msn: 105,
    parts: parts('s2', 105, 2),
    programDateTime: T0 + 5 * SEGMENT_MS + 30_000,
    discontinuity: false,
    mapUri: relativeMediaUri.init('s2'),
  },
  preloadHint: { uri: relativeMediaUri.part('s2', 105, 2) },
});

/** A new session has opened segment 106 but has no part yet: the hinted part needs s2's init segment. */
export const sessionChangeHint = base({
  segments: liveSegments(105, 2),
  openSegment: {
    msn: 106,
    parts: [],
    programDateTime: T0 + 6 * SEGMENT_MS + 30_000,
    discontinuity: true,
    mapUri: relativeMediaUri.init('s2'),
  },
  preloadHint: { uri: relativeMediaUri.part('s2', 106, 0) },
});

/**
 * The stream ended after segment 203. 30 fps: parts of 10 frames (1/3 s) exercise rounding. A stale hint in the
 * model must not be rendered once ended (4.4.5.3).
 */
export const ended = base({
  partTarget: 0.33334,
  mediaSequence: 200,
  discontinuitySequence: 2,
  serverControl: { canBlockReload: true, canSkipUntil: 12, holdBack: 6, partHoldBack: 1.00002 },
  segments: [200, 201, 202, 203].map((msn) => ({
    ...segment(msn, { withParts: msn >= 202, partDuration: 1 / 3, partsPerSegment: 6 }),
    programDateTime: T0 + (msn - 200) * SEGMENT_MS,
  })),
  preloadHint: { uri: relativeMediaUri.part('s1', 204, 0) },
  ended: true,
});

/** Golden file name (in test/fixtures/golden) -> media playlist value. */
export const mediaShapes: Record<string, MediaPlaylist> = {
  'live-window.m3u8': liveWindow,
  'open-segment.m3u8': openSegment,
  'delta-yes.m3u8': deltaYes,
  'delta-v2.m3u8': deltaV2,
  'rendition-reports.m3u8': renditionReports,
  'discontinuity.m3u8': discontinuity,
  'session-change-hint.m3u8': sessionChangeHint,
  'ended.m3u8': ended,
};
