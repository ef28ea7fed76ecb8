/**
 * Answering a media playlist request from a state: the decision (RFC 8216bis 6.2.5.2: ready, wait, or 400)
 * and the text. The stream object and its replicas (src/fanout/replica-do.ts) both answer through these
 * functions with the same renderer, so a replica's answer for a state is the stream object's for it. Pure
 * over the state; texts are memoized in PlaylistTexts.
 */
import { type Directives, resolveDirective } from '../hls/directives.ts';
import { buildMediaPlaylist, ended, playlistPosition } from '../hls/from-state.ts';
import type { MultivariantHints } from '../hls/variants.ts';
import type { RecordedSegment } from '../recording/index-store.ts';
import { renditionOf, type StreamState } from './model.ts';
import type { PlaylistTexts } from './playlist-texts.ts';

export type PlaylistAnswer =
  | { kind: 'playlist'; text: string; targetDuration: number; ended: boolean }
  | { kind: 'not-found'; targetDuration: number }
  | { kind: 'reject'; detail: string }
  | { kind: 'timeout'; targetDuration: number };

export type MultivariantAnswer =
  | { kind: 'playlist'; text: string; targetDuration: number }
  | { kind: 'not-found' };

/** What a request for the current event's playlist needs: an answer now, a wait, or a refusal. */
export type LiveDecision =
  | { kind: 'ready' }
  | { kind: 'wait' }
  | Extract<PlaylistAnswer, { kind: 'not-found' | 'reject' }>;

export function decideLive(state: StreamState, rendition: string, directives: Directives): LiveDecision {
  const { targetDuration, config } = state;
  if (!renditionOf(state, rendition) || !config) return { kind: 'not-found', targetDuration };
  return resolveDirective(playlistPosition(state, rendition), directives, config.partTarget);
}

/** The current event's playlist as of `state` (after `decideLive` said ready, or a wait ended). */
export function renderLive(
  state: StreamState,
  texts: PlaylistTexts,
  rendition: string,
  directives: Directives,
): PlaylistAnswer {
  const text = texts.media(state, rendition, directives);
  if (text === null) return { kind: 'not-found', targetDuration: state.targetDuration };
  return { kind: 'playlist', text, targetDuration: state.targetDuration, ended: ended(state) };
}

/** Where a rendition's live playlist begins (a DVR front ends before it), or null when it has none. */
export function liveFirstMsn(state: StreamState, rendition: string): number | null {
  const live = buildMediaPlaylist(state, rendition, null);
  return live ? (live.segments[0]?.msn ?? live.mediaSequence) : null;
}

/** The current event's DVR playlist: the live one with `earlier(firstMsn)`'s segments in front. */
export function renderDvr(
  state: StreamState,
  texts: PlaylistTexts,
  rendition: string,
  directives: Directives,
  earlier: (beforeMsn: number) => readonly RecordedSegment[],
): PlaylistAnswer {
  const text = texts.dvr(state, rendition, directives, earlier);
  if (text === null) return { kind: 'not-found', targetDuration: state.targetDuration };
  return { kind: 'playlist', text, targetDuration: state.targetDuration, ended: ended(state) };
}

/** An ended event's playlist, answered as it ended whatever the directives (it carries ENDLIST). */
export function archivedAnswer(
  texts: PlaylistTexts,
  archive: readonly StreamState[],
  current: StreamState,
  eventId: string,
  rendition: string,
): PlaylistAnswer {
  const event = archive.find((e) => e.eventId === eventId);
  const text = event ? texts.archived(event, rendition) : null;
  const targetDuration = event?.targetDuration ?? current.targetDuration;
  return text === null
    ? { kind: 'not-found', targetDuration }
    : { kind: 'playlist', text, targetDuration, ended: true };
}

export function multivariantAnswer(
  state: StreamState,
  texts: PlaylistTexts,
  hints: MultivariantHints = {},
  kind: 'live' | 'dvr' = 'live',
): MultivariantAnswer {
  const text = texts.multivariant(state, hints, kind);
  return text === null
    ? { kind: 'not-found' }
    : { kind: 'playlist', text, targetDuration: state.targetDuration };
}
