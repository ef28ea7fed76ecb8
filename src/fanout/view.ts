/**
 * What the stream object pushes to its replicas on every change of the published timeline: the stream's state
 * trimmed to what playlists are rendered from (src/hls renders it with the same pure functions on either
 * side, so a replica's playlists are the stream object's byte for byte), all renditions in one value, with a
 * version that orders pushes and catch-ups. Pure.
 */
import type { MultivariantHints } from '../hls/variants.ts';
import { PLAYLIST_SEGMENTS, type RenditionState, type StreamState } from '../stream/model.ts';

/**
 * Orders views: `epoch` is the wall clock (epoch ms) when the stream object's instance started, `seq` counts
 * its views. A restarted object (eviction, deploy) starts a later epoch, so its views outrank every earlier
 * one; within one instance `seq` only grows. The object persists its state before it pushes, so a later
 * version never holds an older timeline.
 */
export interface FeedVersion {
  epoch: number;
  seq: number;
}

export interface ReplicaView {
  version: FeedVersion;
  /** The stream's state, trimmed by `viewState`. */
  state: StreamState;
  /** Ended events the stream object still serves (their playlists never change: replicas fetch them once). */
  archivedEventIds: string[];
  /**
   * What the multivariant playlist takes from outside the state (the encoder's bitrate from the relay's
   * report, src/hls/variants.ts), as of the view: a new report reaches replicas with the next change.
   */
  multivariantHints: MultivariantHints;
}

export const NO_VERSION: FeedVersion = Object.freeze({ epoch: 0, seq: 0 });

export function newerThan(a: FeedVersion, b: FeedVersion): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}

/**
 * The state a replica renders from. Playlists show the last PLAYLIST_SEGMENTS complete segments and the open
 * one; older segments only count toward EXT-X-DISCONTINUITY-SEQUENCE, so they fold into
 * `prunedDiscontinuities` (how the state itself prunes, model.ts). A session's own timeline is needed only for
 * its next part (the preload hint, timeline.ts `trackNext`): its newest local segment. Parts held for a gap
 * are never rendered. Everything else passes unchanged, so what the renderer reads is what it reads in the
 * stream object (the golden equivalence test holds both to the same bytes).
 */
export function viewState(state: StreamState): StreamState {
  // fromEntries defines own properties: a rendition named `__proto__` stays a rendition (model.ts `own`).
  const renditions = Object.fromEntries(
    Object.entries(state.renditions).map(([id, r]) => [id, viewRendition(r)]),
  );
  return { ...state, renditions };
}

function viewRendition(r: RenditionState): RenditionState {
  let complete = 0;
  let from = r.segments.length;
  while (from > 0 && complete < PLAYLIST_SEGMENTS) {
    from--;
    if (r.segments[from]?.complete) complete++;
  }
  // An incomplete segment before the cut (none in practice: only the newest is open) keeps everything after.
  const open = r.segments.findIndex((s) => !s.complete);
  if (open >= 0 && open < from) from = open;
  const dropped = r.segments.slice(0, from);
  const tracks = Object.fromEntries(
    Object.entries(r.tracks).map(([id, t]) => [
      id,
      { sessionId: t.sessionId, recent: t.recent.slice(-1), pending: [] },
    ]),
  );
  return {
    ...r,
    segments: r.segments.slice(from),
    prunedDiscontinuities: r.prunedDiscontinuities + dropped.filter((s) => s.discontinuity).length,
    tracks,
  };
}
