/**
 * The pure decisions behind the object's read RPCs: does a part exist, may a preload-hint request for it be
 * held, which parts make up a published segment. Session ids are unique across events, so a lookup by
 * session id finds its event (the current one or an archived one).
 */
import {
  activeSession,
  findSession,
  isGap,
  type PartRecord,
  renditionOf,
  type StreamState,
} from './model.ts';
import { findPublished, findPublishedPart, nextListedPart } from './timeline.ts';

/** Preload hints a request may be held for: the next expected part and the two after it. */
export const HINT_LOOKAHEAD = 2;

/** A part in local numbers (what media URIs carry), src/contract/playback.ts. */
export interface PartRef {
  rendition: string;
  sessionId: string;
  msn: number;
  part: number;
}

/** The published part `p` names, or undefined while the playlist does not list it. */
function publishedPart(state: StreamState, p: PartRef): PartRecord | undefined {
  const r = renditionOf(state, p.rendition);
  return r ? findPublishedPart(r, p.sessionId, p.msn, p.part) : undefined;
}

export function partPublished(state: StreamState, p: PartRef): boolean {
  return publishedPart(state, p) !== undefined;
}

/**
 * A request for a part: `ready` when listed with media, `gap` when listed as a gap (no media will ever come:
 * RFC 8216bis 4.4.4.9 GAP=YES), held (6.2.6: the server SHOULD hold a request for a hinted resource until it
 * is available) only for the active session's next expected part and the two after it; anything else is not
 * found.
 */
export function hintDecision(state: StreamState, p: PartRef): 'ready' | 'gap' | 'wait' | 'not-found' {
  const listed = publishedPart(state, p);
  if (listed) return isGap(listed) ? 'gap' : 'ready';
  const session = activeSession(state);
  const r = renditionOf(state, p.rendition);
  if (!r || !session || session.id !== p.sessionId || session.endedAt !== null) return 'not-found';
  const next = nextListedPart(r, session, state.join);
  const near =
    (p.msn === next.msn && p.part >= next.part && p.part - next.part <= HINT_LOOKAHEAD) ||
    (p.msn === next.msn + 1 && p.part < HINT_LOOKAHEAD);
  return near ? 'wait' : 'not-found';
}

/**
 * Part sizes of a complete published segment, for serving it as its parts concatenated. `fromPart` must be
 * where the published segment starts (0, or the keyframe a failover joined at): any other range was never
 * advertised. `events`: the current state first, then archived events.
 */
export function segmentParts(
  events: readonly StreamState[],
  rendition: string,
  sessionId: string,
  msn: number,
  fromPart: number,
): { partSizes: number[] } | { gap: true } | null {
  const event = events.find((e) => findSession(e, sessionId) !== undefined) ?? events[0];
  const r = event ? renditionOf(event, rendition) : undefined;
  const segment = r ? findPublished(r, sessionId, msn) : undefined;
  if (!segment?.complete || segment.firstPart !== fromPart) return null;
  // An EXT-X-GAP segment (4.4.4.7, from-state.ts): no part has media. A segment with some gap parts is
  // served as its parts with media (a gap part's size is 0: nothing in R2, nothing in the body).
  if (segment.parts.every(isGap)) return { gap: true };
  return { partSizes: segment.parts.map((p) => (isGap(p) ? 0 : p.size)) };
}
