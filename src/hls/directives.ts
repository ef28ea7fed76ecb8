/**
 * Delivery Directives (RFC 8216bis 6.2.5, draft 22): parse `_HLS_msn`, `_HLS_part`, `_HLS_skip` from a playlist
 * URL, decide whether a blocking request can be answered now, and size a delta update. Pure: the Durable Object
 * keeps the waiters and calls `resolveDirective` again for each of them when a part lands.
 */

export interface Directives {
  /** `_HLS_msn`: block until this Media Sequence Number (6.2.5.2). */
  msn?: number;
  /** `_HLS_part`: block until this Part Index of `msn` (6.2.5.2). Never present without `msn`. */
  part?: number;
  /** `_HLS_skip`: answer a Playlist Delta Update (6.2.5.1). */
  skip?: 'YES' | 'v2';
}

export type ParsedDirectives = { ok: true; value: Directives } | { ok: false; detail: string };

/** Where the live edge of one rendition is, as the Durable Object knows it when a part lands. */
export interface PlaylistPosition {
  /** MSN of the segment holding the newest part (or of the newest complete segment if the open one has no parts yet); -1 before any. */
  lastMsn: number;
  /** Part Index of the newest part in `lastMsn`'s segment; -1 if none. */
  lastPart: number;
  /** MSN of the newest complete segment; -1 if none. */
  lastCompleteMsn: number;
  /** Number of parts of a complete segment; undefined when not known (outside the window, or not complete). */
  partCounts: (msn: number) => number | undefined;
  /** The playlist carries EXT-X-ENDLIST. */
  ended: boolean;
}

export type DirectiveDecision = { kind: 'ready' } | { kind: 'wait' } | { kind: 'reject'; detail: string };

const READY: DirectiveDecision = Object.freeze({ kind: 'ready' });
const WAIT: DirectiveDecision = Object.freeze({ kind: 'wait' });

/** decimal-integer (4.2), kept within exact JavaScript integers. */
const DECIMAL_INTEGER = /^[0-9]{1,15}$/;

/** Reads the directives; anything malformed is a 400 with a reason. Unknown `_HLS_` parameters are ignored. */
export function parseDirectives(query: URLSearchParams): ParsedDirectives {
  const msn = integerParam(query, '_HLS_msn');
  if (typeof msn === 'string') return { ok: false, detail: msn };
  const part = integerParam(query, '_HLS_part');
  if (typeof part === 'string') return { ok: false, detail: part };
  // 6.2.5.2: "If the Playlist URI contains an _HLS_part directive but no _HLS_msn directive, the Server MUST
  // return Bad Request".
  if (part !== undefined && msn === undefined) return { ok: false, detail: '_HLS_part needs _HLS_msn' };
  const skips = query.getAll('_HLS_skip');
  if (skips.length > 1) return { ok: false, detail: '_HLS_skip given more than once' };
  const skip = skips[0];
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') {
    return { ok: false, detail: `_HLS_skip must be YES or v2, not ${JSON.stringify(skip)}` };
  }
  const value: Directives = {};
  if (msn !== undefined) value.msn = msn;
  if (part !== undefined) value.part = part;
  if (skip !== undefined) value.skip = skip;
  return { ok: true, value };
}

/** The parameter's value, undefined when absent, or a reason string when malformed. */
function integerParam(query: URLSearchParams, name: string): number | undefined | string {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) return `${name} given more than once`;
  const text = values[0] ?? '';
  if (!DECIMAL_INTEGER.test(text)) return `${name} must be a non-negative decimal integer`;
  return Number(text);
}

/**
 * 6.2.5.2: the Advance Part Limit is "three divided by the Part Target Duration if the Part Target Duration is
 * less than one second, or three otherwise" — about three seconds of parts.
 */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? 3 / partTarget : 3;
}

/**
 * Ready, wait or reject for one blocking request (6.2.5.2). O(1), allocation-free on ready/wait, so the Durable
 * Object can re-run it for every waiter on every part.
 */
export function resolveDirective(
  position: PlaylistPosition,
  d: Directives,
  partTarget: number,
): DirectiveDecision {
  if (d.msn === undefined) return d.part === undefined ? READY : reject('_HLS_part needs _HLS_msn');
  // "A Server MUST ignore _HLS_msn and _HLS_part if the Playlist contains an EXT-X-ENDLIST tag."
  if (position.ended) return READY;
  // "If the _HLS_msn is greater than the Media Sequence Number of the last Media Segment in the current
  // Playlist plus two ... the server SHOULD immediately return Bad Request". The segment still taking parts
  // counts as the last one, which only ever accepts more requests than the complete segment would.
  if (d.msn > position.lastMsn + 2) {
    return reject(`_HLS_msn=${d.msn} is more than two segments past the last one (${position.lastMsn})`);
  }
  if (d.part === undefined) {
    // "_HLS_msn directive and no _HLS_part directive": wait "until the Playlist contains a Media Segment with
    // a Media Sequence Number of M or later" — a whole segment, not merely its first part.
    return d.msn <= position.lastCompleteMsn ? READY : WAIT;
  }
  return resolvePart(position, d.msn, d.part, partTarget);
}

function resolvePart(
  position: PlaylistPosition,
  requestedMsn: number,
  requestedPart: number,
  partTarget: number,
): DirectiveDecision {
  let msn = requestedMsn;
  let part = requestedPart;
  if (msn <= position.lastCompleteMsn) {
    const count = position.partCounts(msn);
    // A complete segment holds all its parts. "If the Client requests a Part Index greater than that of the
    // final Partial Segment of the Parent Segment, the Server MUST treat the request as one for Part Index 0
    // of the following Parent Segment." Unknown count: the segment left the window, deliver the playlist.
    if (count === undefined || part < count) return READY;
    msn += 1;
    part = 0;
    if (msn <= position.lastCompleteMsn) return READY;
  }
  if (msn < position.lastMsn || (msn === position.lastMsn && part <= position.lastPart)) return READY;
  // How many parts past the newest one the request is. For a later segment the parts still to come in the
  // open segment are unknown, so count from its start: the smallest possible distance, never a false 400.
  const ahead = msn === position.lastMsn ? part - position.lastPart : part + 1;
  const limit = advancePartLimit(partTarget);
  if (ahead > limit) {
    return reject(
      `_HLS_part=${requestedPart} of _HLS_msn=${requestedMsn} is beyond the Advance Part Limit (${limit.toFixed(2)} parts)`,
    );
  }
  return WAIT;
}

function reject(detail: string): DirectiveDecision {
  return { kind: 'reject', detail };
}

/**
 * 6.2.5.1: which delta update to answer, or null for a full playlist. "A Server MUST ignore the _HLS_skip
 * directive if the Playlist does not contain the CAN-SKIP-UNTIL attribute, or if it contains an EXT-X-ENDLIST
 * tag."
 */
export function deltaRequest(
  d: Directives,
  playlist: { canSkipUntil: number | undefined; ended: boolean },
): 'YES' | 'v2' | null {
  if (d.skip === undefined || playlist.canSkipUntil === undefined || playlist.ended) return null;
  return d.skip;
}

/**
 * 6.2.5.1: how many leading segments a delta update replaces with EXT-X-SKIP — those "further from the end of
 * the last (Parent) Media Segment in the Playlist than the Skip Boundary". A segment counts as further only when
 * its end is, so a client never loses a segment that straddles the boundary. `durations` are the complete
 * segments' durations in seconds, oldest first; `canSkipUntil` is the Skip Boundary in seconds.
 */
export function skipBoundary(durations: readonly number[], canSkipUntil: number): number {
  let fromEnd = 0;
  for (let i = durations.length - 1; i >= 0; i--) {
    // fromEnd: seconds from the end of segment i to the end of the last segment.
    if (fromEnd > canSkipUntil) return i + 1;
    fromEnd += durations[i] ?? 0;
  }
  return 0;
}
