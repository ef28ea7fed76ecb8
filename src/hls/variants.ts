/**
 * The multivariant playlist's model from a stream's state (RFC 8216bis 4.4.6): one variant per rendition the
 * playlists serve, each with its own bandwidth, codecs, resolution and frame rate, listed in the order players
 * should meet them, and the closed captions the video carries. Pure, like from-state.ts.
 */
import { SOURCE_RENDITION } from '../contract/ingest.ts';
import { relativePlaylistUri } from '../contract/playback.ts';
import { type InitRecord, own, type RenditionState, renditionOf, type StreamState } from '../stream/model.ts';
import { type Bandwidth, measureBandwidth } from '../stream/timeline.ts';
import { listedRenditions } from './from-state.ts';
import type { MediaRendition, MultivariantPlaylist, VariantStream } from './model.ts';

/** What the stream object knows besides its state. */
export interface MultivariantHints {
  /** The active input's latest relay report: bits per second from the encoder (`ingestBitrate`). */
  ingestBitrate?: number;
}

/**
 * Bits per second a player should start at: list first the variant nearest this at or below it (issue 12).
 * hls.js and AVPlayer start on the first listed variant (RFC 8216bis 6.3.1 leaves the choice to the client);
 * 2 Mb/s plays on most links and looks better than the bottom rung, and the player climbs from there.
 */
export const START_BANDWIDTH = 2_000_000;

/**
 * BANDWIDTH of a lone source nobody has measured yet and no relay report has described: with no other variant
 * the number steers no choice, it only must not be 0 (4.4.6.2 makes BANDWIDTH REQUIRED, and 0 would make a
 * player with a rung to pick start on it). A typical contribution bitrate for 720p-1080p.
 */
export const UNMEASURED_SOURCE_BANDWIDTH = 5_000_000;

/** The one CLOSED-CAPTIONS group: CEA-608 channel 1, which the source's SEI carries and every rung keeps (a53cc). */
const CAPTIONS: MediaRendition = {
  type: 'CLOSED-CAPTIONS',
  groupId: 'cc',
  name: 'English',
  instreamId: 'CC1',
  default: true,
  autoselect: true,
};

export function buildMultivariantPlaylist(
  state: StreamState,
  hints: MultivariantHints = {},
): MultivariantPlaylist | null {
  const sessionId = state.activeSessionId;
  const eventId = state.eventId;
  if (!sessionId || eventId === null) return null;
  const listed = listedRenditions(state).flatMap((r) => {
    const init = own(r.inits, sessionId);
    return init ? [{ r, init }] : [];
  });
  if (listed.length === 0 || awaitingRungs(state, sessionId, listed)) return null;
  // 4.4.6.2: "If any Variant Stream in the Multivariant Playlist has CLOSED-CAPTIONS=NONE, all of them MUST":
  // captions are declared for all or for none. The rungs keep the source's captions, so one init saying so is
  // the stream saying so.
  const captions = listed.some(({ init }) => init.closedCaptions === true);
  const unmeasured = unmeasuredBandwidth(
    listed.map(({ init }) => init),
    hints,
  );
  const variants = listed.map(({ r, init }): VariantStream => {
    const bandwidth = variantBandwidth(r, init, unmeasured);
    const variant: VariantStream = {
      uri: relativePlaylistUri.variant(r.id, eventId),
      bandwidth: bandwidth.peak,
      averageBandwidth: bandwidth.average,
      codecs: init.codecs.join(','),
      closedCaptions: captions ? { groupId: CAPTIONS.groupId } : 'NONE',
    };
    if (init.width && init.height) variant.resolution = { width: init.width, height: init.height };
    if (init.frameRate) variant.frameRate = init.frameRate;
    return variant;
  });
  return {
    version: 6,
    independentSegments: true,
    media: captions ? [CAPTIONS] : [],
    variants: startFirst(variants),
  };
}

/**
 * Measured over complete segments (gaps left out) once there are any; until then the rung's nominal peak from
 * its init (the relay's `ingest-bandwidth`, its VBV peak plus audio), for peak and average alike: an average
 * that errs high makes a player cautious, never stuck. Measuring a lone first part instead would read a
 * keyframe part as the rate and rank the rung far too high.
 */
function variantBandwidth(r: RenditionState, init: InitRecord, unmeasured: Bandwidth): Bandwidth {
  const measured = measureBandwidth(r, { completeOnly: true });
  if (measured && measured.peak > 0) return measured;
  if (init.bandwidth !== undefined && init.bandwidth > 0)
    return { peak: init.bandwidth, average: init.bandwidth };
  return unmeasured;
}

/**
 * For a rendition with neither a measurement nor a nominal bitrate (the source before its first complete
 * segment: the relay leaves it to measurement): the encoder's own bitrate from the latest relay report, which
 * is the source's rate plus a little container overhead; without a report, twice the top rung's nominal (the
 * source is above its tallest rung, and ladders step by about 1.5-2x); alone, UNMEASURED_SOURCE_BANDWIDTH.
 * Never 0.
 */
function unmeasuredBandwidth(inits: InitRecord[], hints: MultivariantHints): Bandwidth {
  const ingest = hints.ingestBitrate;
  if (ingest !== undefined && ingest > 0) return { peak: Math.round(ingest), average: Math.round(ingest) };
  const top = Math.max(0, ...inits.map((i) => i.bandwidth ?? 0));
  const bps = top > 0 ? 2 * top : UNMEASURED_SOURCE_BANDWIDTH;
  return { peak: bps, average: bps };
}

/**
 * The variant nearest START_BANDWIDTH at or below it first (the lowest when none is), then the others in
 * ascending BANDWIDTH (issue 12; hls.js starts on the first listed, then ranks levels by bandwidth itself).
 */
function startFirst(variants: VariantStream[]): VariantStream[] {
  const ascending = [...variants].sort((a, b) => a.bandwidth - b.bandwidth || a.uri.localeCompare(b.uri));
  const start = ascending.filter((v) => v.bandwidth <= START_BANDWIDTH).at(-1) ?? ascending[0];
  return start ? [start, ...ascending.filter((v) => v !== start)] : ascending;
}

/**
 * Whether the multivariant should wait for the ladder (issue 12). Players read it once: one listed before the
 * session's rungs had a part would keep such a player on the source for good, which is exactly what a viewer
 * waiting for the event to start would get. So while a rung the source's init declared (`ingest-renditions`)
 * has no part yet, there is no multivariant, until the source's first segment is complete: a rung that missed
 * it joins later (at a segment start), and the source is not held back for it any longer.
 */
function awaitingRungs(
  state: StreamState,
  sessionId: string,
  listed: readonly { r: RenditionState }[],
): boolean {
  const source = renditionOf(state, SOURCE_RENDITION);
  const declared = (source && own(source.inits, sessionId)?.ladder) ?? [];
  const missing = declared.filter((id) => !listed.some(({ r }) => r.id === id));
  return missing.length > 0 && !source?.segments.some((s) => s.complete);
}
