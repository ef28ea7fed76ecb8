/**
 * Playlist shapes of an ABR ladder (issue 12), built like shapes.ts: 25 fps, 0.4 s parts, 2 s segments of five
 * parts with a keyframe on part 0. A rung whose transcoder fails keeps its MSNs as gaps; the multivariant of a
 * 720p source with the standard 480p and 360p rungs, without and with closed captions.
 */
import { relativeMediaUri, relativePlaylistUri } from '../../../src/contract/playback.ts';
import type {
  MediaPlaylist,
  MultivariantPlaylist,
  PartEntry,
  SegmentEntry,
  VariantStream,
} from '../../../src/hls/model.ts';
import { base, EVENT, liveSegments, parts, SEGMENT_MS, segment, T0 } from './shapes.ts';

const SESSION = 's1';

/** Parts of one segment, those at `gapFrom` and after as gaps. */
function partsWithGap(msn: number, gapFrom: number, count = 5): PartEntry[] {
  return parts(SESSION, msn, count).map((p, i) => (i >= gapFrom ? { ...p, gap: true } : p));
}

/** A complete segment that is a gap: EXT-X-GAP, and every part GAP=YES (RFC 8216bis 4.4.4.9). */
function gapSegment(msn: number): SegmentEntry {
  return { ...segment(msn, { withParts: true }), parts: partsWithGap(msn, 0), gap: true };
}

/**
 * The 480p rung's ffmpeg died two parts into segment 104: 104 keeps its two parts of media as they were listed
 * and its three gaps GAP=YES, with no EXT-X-GAP (it has media: its URI serves those two parts); 105 (all gaps)
 * is EXT-X-GAP with every part GAP=YES, as from-state.ts lists them; it came back at the keyframe that opens
 * 106, which has two parts so far.
 */
export const gapSegments = base({
  segments: [
    ...liveSegments(103, 1),
    { ...segment(104, { withParts: true }), parts: partsWithGap(104, 2) },
    gapSegment(105),
  ],
  openSegment: {
    msn: 106,
    parts: parts(SESSION, 106, 2),
    programDateTime: T0 + 6 * SEGMENT_MS,
    discontinuity: false,
    mapUri: relativeMediaUri.init(SESSION),
  },
  preloadHint: { uri: relativeMediaUri.part(SESSION, 106, 2) },
  renditionReports: [
    { uri: relativeMediaUri.rendition('source', EVENT), lastMsn: 106, lastPart: 2 },
    { uri: relativeMediaUri.rendition('360p', EVENT), lastMsn: 106, lastPart: 1 },
  ],
});

/**
 * It has just failed inside the open segment 106: its third part is a gap. The segment has no URI yet, so no
 * EXT-X-GAP: only that part is GAP=YES until the segment completes.
 */
export const gapOpenSegment = base({
  segments: liveSegments(105, 2),
  openSegment: {
    msn: 106,
    parts: partsWithGap(106, 2, 3),
    programDateTime: T0 + 6 * SEGMENT_MS,
    discontinuity: false,
    mapUri: relativeMediaUri.init(SESSION),
  },
  preloadHint: { uri: relativeMediaUri.part(SESSION, 106, 3) },
  renditionReports: [{ uri: relativeMediaUri.rendition('source', EVENT), lastMsn: 106, lastPart: 3 }],
});

const ladder: VariantStream[] = [
  // The start rung: nearest 2 Mb/s at or below it. 480p's nominal peak (1.4 Mb/s x 1.5 + audio) is above it.
  {
    uri: relativePlaylistUri.variant('360p', EVENT),
    bandwidth: 1_340_800,
    averageBandwidth: 1_340_800,
    codecs: 'avc1.64001e,mp4a.40.2',
    resolution: { width: 640, height: 360 },
    frameRate: 30,
    closedCaptions: 'NONE',
  },
  {
    uri: relativePlaylistUri.variant('480p', EVENT),
    bandwidth: 2_240_800,
    averageBandwidth: 2_240_800,
    codecs: 'avc1.64001e,mp4a.40.2',
    resolution: { width: 854, height: 480 },
    frameRate: 30,
    closedCaptions: 'NONE',
  },
  {
    uri: relativePlaylistUri.variant('source', EVENT),
    bandwidth: 3_512_000,
    averageBandwidth: 3_105_000,
    codecs: 'avc1.64001f,mp4a.40.2',
    resolution: { width: 1280, height: 720 },
    frameRate: 29.97,
    closedCaptions: 'NONE',
  },
];

export const multivariant: MultivariantPlaylist = {
  version: 6,
  independentSegments: true,
  media: [],
  variants: ladder,
};

/** The source's SEI carries CEA-608 captions, which every rung keeps: one CLOSED-CAPTIONS group for all. */
export const multivariantCaptions: MultivariantPlaylist = {
  ...multivariant,
  media: [
    {
      type: 'CLOSED-CAPTIONS',
      groupId: 'cc',
      name: 'English',
      instreamId: 'CC1',
      default: true,
      autoselect: true,
    },
  ],
  variants: ladder.map((v) => ({ ...v, closedCaptions: { groupId: 'cc' } })),
};

export const gapShapes: Record<string, MediaPlaylist> = {
  'gap-segments.m3u8': gapSegments,
  'gap-open-segment.m3u8': gapOpenSegment,
};

export const multivariantShapes: Record<string, MultivariantPlaylist> = {
  'multivariant.m3u8': multivariant,
  'multivariant-captions.m3u8': multivariantCaptions,
};
