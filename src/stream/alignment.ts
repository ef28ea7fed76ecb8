/**
 * Renditions in step where the published timeline leaves an input (issue 12). Within one join every rendition
 * maps the same local numbers to the same published msn (projection.ts), so a rung whose parts trail the
 * source's (transcode lag, up to about a second) still fills the same msn with the same media time. But when
 * the timeline leaves the input (a failover, a failback, an end) each rendition's open segment closes as it
 * stands: a lagging rung would close short, or with whole segments missing, and the next join, decided on the
 * source, would publish at an msn the rung cannot reach contiguously. Its playlist would then stop for good.
 *
 * So at every close, each rendition is first padded to the furthest one: the parts and segments it lacks are
 * published as gaps (GAP=YES, EXT-X-GAP: RFC 8216bis 4.4.4.7, 4.4.4.9) with the furthest one's numbers,
 * durations and PDT. Every rendition then ends at the same msn and part, the next join starts all of them at
 * the same msn, and a player on the rung skips the half second it never got instead of stalling on it. Parts
 * of the left input that arrive later are kept in its own timeline and never published.
 */
import { SOURCE_RENDITION } from '../contract/ingest.ts';
import type { PartRecord, RenditionState, Segment, StreamState } from './model.ts';

/** Pads every rendition's published timeline to the furthest one's end; the same object when none lagged. */
export function alignRenditions(state: StreamState): StreamState {
  const reference = furthest(Object.values(state.renditions));
  if (!reference) return state;
  const renditions: Record<string, RenditionState> = {};
  let changed = false;
  for (const [id, r] of Object.entries(state.renditions)) {
    const padded = r === reference ? r : padAsGaps(r, reference);
    renditions[id] = padded;
    changed = changed || padded !== r;
  }
  return changed ? { ...state, renditions } : state;
}

/** The rendition whose published timeline ends latest (last msn, then parts in it); the source on a tie. */
function furthest(renditions: RenditionState[]): RenditionState | undefined {
  let best: RenditionState | undefined;
  for (const r of renditions) {
    if (!best || compareEnds(r, best) > 0 || (compareEnds(r, best) === 0 && r.id === SOURCE_RENDITION)) {
      best = r;
    }
  }
  return best?.segments.length ? best : undefined;
}

function compareEnds(a: RenditionState, b: RenditionState): number {
  const x = a.segments.at(-1);
  const y = b.segments.at(-1);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return x.msn === y.msn ? x.parts.length - y.parts.length : x.msn - y.msn;
}

/**
 * `r` with the reference's parts it lacks after its own last one, as gaps: the rest of its open segment (when
 * both cut it from the same local segment; it completes when the reference's did) and whole segments after it.
 * A rendition that never published anything is left alone: its playlist starts wherever it first joins.
 * Also how a rendition the joined session does not upload follows the source (projection.ts `followAsGaps`).
 */
export function padAsGaps(r: RenditionState, reference: RenditionState): RenditionState {
  const last = r.segments.at(-1);
  if (!last) return r;
  const next = reference.segments.find((s) => s.msn > last.msn);
  if (next && next.msn !== last.msn + 1) return gapCopy(r, reference);
  const segments = r.segments.slice();
  const at = segments.length - 1;
  for (const s of reference.segments) {
    if (s.msn < last.msn) continue;
    if (s.msn > last.msn) {
      // Only the last segment may be open: one that others follow is complete, as it stands when not padded.
      const before = segments[segments.length - 1];
      if (before && !before.complete) segments[segments.length - 1] = { ...before, complete: true };
      segments.push({ ...s, parts: s.parts.map(asGap) });
    } else if (!last.complete && sameCut(last, s)) {
      const missing = s.parts.slice(last.parts.length).map(asGap);
      segments[at] = { ...last, parts: [...last.parts, ...missing], complete: s.complete };
    }
  }
  const unchanged = segments.length === r.segments.length && sameSegment(segments[at], last);
  return unchanged ? r : { ...r, segments };
}

function sameSegment(a: Segment | undefined, b: Segment): boolean {
  return a === b || (a?.parts.length === b.parts.length && a.complete === b.complete);
}

/**
 * `r` fell further behind than the reference keeps segments (it had no media in a whole long session: a relay
 * with no CPU for its ladder): padding it would leave a hole in its msn. It restarts as a gap copy of the
 * reference's retained segments, whose discontinuity count it takes over, so msn and discontinuity numbers
 * stay the reference's; its playlist simply slides forward (RFC 8216bis 6.2.1: segments leave from the front).
 */
function gapCopy(r: RenditionState, reference: RenditionState): RenditionState {
  const segments = reference.segments.map((s) => ({ ...s, parts: s.parts.map(asGap) }));
  return { ...r, segments, prunedDiscontinuities: reference.prunedDiscontinuities };
}

/** Both renditions published this msn from the same local segment of the same session, from the same part. */
function sameCut(a: Segment, b: Segment): boolean {
  return a.sessionId === b.sessionId && a.localMsn === b.localMsn && a.firstPart === b.firstPart;
}

function asGap(p: PartRecord): PartRecord {
  return {
    duration: p.duration,
    independent: p.independent,
    programDateTime: p.programDateTime,
    size: 0,
    gap: true,
  };
}
