/**
 * LL-HLS media playlist text from a `MediaPlaylist` value (RFC 8216bis, draft 22). Pure: no clock, env or I/O,
 * so the same model always renders the same bytes and golden files can pin them down.
 *
 * Layout, top to bottom: header tags, `EXT-X-SKIP` (delta updates only), complete segments, the open segment's
 * parts, preload hints, rendition reports, `EXT-X-ENDLIST`.
 */
import type { MediaPlaylist, PartEntry, RenditionReport, SegmentEntry, ServerControl } from './model.ts';

/**
 * Lowest `EXT-X-VERSION` the rendered tags need (RFC 8216bis section 8):
 * 6 for `EXT-X-MAP` outside an I-frame playlist (also covers floating-point EXTINF, 3);
 * 9 for `EXT-X-SKIP`; 10 for an `EXT-X-SKIP` in a v2 delta update, which stands in for date ranges.
 * EXT-X-PART, -PART-INF, -SERVER-CONTROL, -PRELOAD-HINT and -RENDITION-REPORT carry no version floor.
 */
export function requiredVersion(model: MediaPlaylist): number {
  if (model.skippedSegments > 0) return model.skipV2 ? 10 : 9;
  return 6;
}

/** Renders the media playlist; every line ends with LF. */
export function renderMediaPlaylist(model: MediaPlaylist): string {
  const lines = headerLines(model);
  // The first segment after EXT-X-SKIP (or of a full playlist) always gets its EXT-X-MAP: the skipped
  // segments' tags are gone (4.4.5.2), so the map must be restated for the segments that remain.
  let lastMap: string | null = null;
  for (const segment of model.segments) {
    lastMap = pushSegment(lines, segment, lastMap);
  }
  const open = model.openSegment;
  if (open && open.parts.length > 0) {
    // 4.4.4.9: DISCONTINUITY, MAP and PROGRAM-DATE-TIME of a Parent Segment MUST appear before its first part.
    pushSegmentTags(lines, open, lastMap);
    lastMap = open.mapUri;
    for (const part of open.parts) lines.push(partLine(part));
  } else if (open?.discontinuity && !model.ended) {
    // The next segment has no part yet but is known to follow a discontinuity (a new input will be joined):
    // say so now, so a client that already places that msn (hls.js does, after the last segment) gives it the
    // discontinuity number it will have (6.2.2: an advertised segment's tags do not change). Its MAP and
    // PROGRAM-DATE-TIME come with its first part.
    lines.push('#EXT-X-DISCONTINUITY');
  }
  if (!model.ended) pushPreloadHints(lines, model, lastMap);
  for (const report of model.renditionReports) lines.push(renditionReportLine(report));
  if (model.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

function headerLines(model: MediaPlaylist): string[] {
  if (model.playlistType === 'VOD') {
    return [
      '#EXTM3U',
      `#EXT-X-VERSION:${Math.max(model.version, requiredVersion(model))}`,
      `#EXT-X-TARGETDURATION:${integer(model.targetDuration)}`,
      '#EXT-X-PLAYLIST-TYPE:VOD',
      `#EXT-X-MEDIA-SEQUENCE:${integer(model.mediaSequence)}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${integer(model.discontinuitySequence)}`,
    ];
  }
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${Math.max(model.version, requiredVersion(model))}`,
    `#EXT-X-TARGETDURATION:${integer(model.targetDuration)}`,
    serverControlLine(model.serverControl),
    // 4.4.3.7: REQUIRED when the playlist has EXT-X-PART tags; always present so every reload has the same head.
    `#EXT-X-PART-INF:PART-TARGET=${decimal(model.partTarget)}`,
    `#EXT-X-MEDIA-SEQUENCE:${integer(model.mediaSequence)}`,
    // 4.4.3.3: absent means 0. Always written, so the header never changes shape when a discontinuity
    // scrolls in or out of the window, and a delta update keeps it as is (4.4.5.2).
    `#EXT-X-DISCONTINUITY-SEQUENCE:${integer(model.discontinuitySequence)}`,
  ];
  // EXT-X-INDEPENDENT-SEGMENTS is left to the multivariant playlist: there it applies to every media playlist
  // (4.4.2.1), so repeating it here would add bytes to every blocking reload for nothing.
  if (model.skippedSegments > 0) lines.push(skipLine(model));
  return lines;
}

/** 4.4.3.8. PART-HOLD-BACK is REQUIRED with EXT-X-PART-INF, which we always write. */
function serverControlLine(control: ServerControl): string {
  const attributes: string[] = [];
  if (control.canBlockReload) attributes.push('CAN-BLOCK-RELOAD=YES');
  if (control.canSkipUntil !== undefined) {
    attributes.push(`CAN-SKIP-UNTIL=${decimal(control.canSkipUntil)}`);
    // CAN-SKIP-DATERANGES REQUIRES CAN-SKIP-UNTIL (4.4.3.8), so it is only written next to it.
    if (control.canSkipDateRanges) attributes.push('CAN-SKIP-DATERANGES=YES');
  }
  attributes.push(
    `HOLD-BACK=${decimal(control.holdBack)}`,
    `PART-HOLD-BACK=${decimal(control.partHoldBack)}`,
  );
  return `#EXT-X-SERVER-CONTROL:${attributes.join(',')}`;
}

/**
 * 4.4.5.2 and 6.2.5.1: the skipped segments and their tags become one EXT-X-SKIP. RECENTLY-REMOVED-DATERANGES
 * is REQUIRED when the client asked for `_HLS_skip=v2` (MAY be empty); we never carry date ranges, so it is.
 */
function skipLine(model: MediaPlaylist): string {
  const removed = model.skipV2 ? ',RECENTLY-REMOVED-DATERANGES=""' : '';
  return `#EXT-X-SKIP:SKIPPED-SEGMENTS=${integer(model.skippedSegments)}${removed}`;
}

interface SegmentTags {
  discontinuity: boolean;
  mapUri: string;
  programDateTime: number;
}

/** Pushes one complete segment; returns the map URI now in force. */
function pushSegment(lines: string[], segment: SegmentEntry, lastMap: string | null): string {
  pushSegmentTags(lines, segment, lastMap);
  for (const part of segment.parts) lines.push(partLine(part));
  // 4.4.4.7: EXT-X-GAP applies to the next Media Segment URI; the segment keeps its EXTINF, so MSNs and time
  // stay aligned with the other renditions while this one has no media.
  if (segment.gap) lines.push('#EXT-X-GAP');
  // 4.4.4.1: EXTINF:<duration>,[<title>] — no title.
  lines.push(`#EXTINF:${decimal(segment.duration)},`, segment.uri);
  return segment.mapUri;
}

function pushSegmentTags(lines: string[], tags: SegmentTags, lastMap: string | null): void {
  if (tags.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
  // 4.4.4.5: a MAP applies until the next one, so it is restated only when the init segment changes.
  if (tags.mapUri !== lastMap) lines.push(`#EXT-X-MAP:URI=${quoted(tags.mapUri)}`);
  // Appendix B.1: every segment is dated, which keeps renditions aligned and survives delta updates.
  lines.push(`#EXT-X-PROGRAM-DATE-TIME:${programDateTime(tags.programDateTime)}`);
}

/** 4.4.4.9. INDEPENDENT=YES when the part starts with a keyframe; GAP=YES when it is not available. */
function partLine(part: PartEntry): string {
  const independent = part.independent ? ',INDEPENDENT=YES' : '';
  const gap = part.gap ? ',GAP=YES' : '';
  return `#EXT-X-PART:DURATION=${decimal(part.duration)},URI=${quoted(part.uri)}${independent}${gap}`;
}

/**
 * 6.2.6 and 4.4.5.3: one TYPE=PART hint for the next part; never in an ended playlist. Appendix B.1: when the
 * hinted part needs a new init segment (a new session has opened a segment but no part of it is listed yet),
 * a TYPE=MAP hint names that init segment too.
 */
function pushPreloadHints(lines: string[], model: MediaPlaylist, lastMap: string | null): void {
  const hint = model.preloadHint;
  if (!hint) return;
  const open = model.openSegment;
  if (open && open.parts.length === 0 && open.mapUri !== lastMap) {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=${quoted(open.mapUri)}`);
  }
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${quoted(hint.uri)}`);
}

/** 4.4.5.4. LAST-PART is REQUIRED only when that rendition has parts (-1: none yet). */
function renditionReportLine(report: RenditionReport): string {
  const lastPart = report.lastPart >= 0 ? `,LAST-PART=${integer(report.lastPart)}` : '';
  return `#EXT-X-RENDITION-REPORT:URI=${quoted(report.uri)},LAST-MSN=${integer(report.lastMsn)}${lastPart}`;
}

/**
 * decimal-floating-point (4.2): at most 5 decimals (10 µs, finer than a 90 kHz tick matters to no player), trailing
 * zeros trimmed. `toFixed` never uses exponent notation below 1e21. Rounding is monotonic, so a part no longer than
 * PART-TARGET never renders longer than it, and a segment's EXTINF keeps its relation to TARGETDURATION.
 */
export function decimal(value: number): string {
  const fixed = value.toFixed(5);
  const trimmed = fixed.replace(/\.?0+$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

/** decimal-integer (4.2). */
function integer(value: number): string {
  return Math.trunc(value).toFixed(0);
}

/** quoted-string (4.2): the model's URIs are ours and never contain `"`, CR or LF. */
function quoted(value: string): string {
  return `"${value}"`;
}

/** 4.4.4.6: ISO 8601 date-time with time zone and milliseconds, from epoch milliseconds. */
function programDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
