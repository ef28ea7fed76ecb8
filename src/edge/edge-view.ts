/**
 * The isolate's copy of its replica's view (src/fanout/view.ts), so an isolate costs its replica one call per
 * part whatever its viewers ask: every rendition, full or delta, blocking or not, and preload hints are
 * decided and rendered here with the same functions the replica and the stream object use
 * (src/stream/playlist-answers.ts). Requests that must wait share one long poll (`nextView`) that returns as
 * soon as the replica holds a newer view. A refusal is never decided here: a 400 or 404 goes to the replica,
 * which answers from the stream object's view if its own is behind. Views only move forward.
 */

import type { FeedVersion, ReplicaView } from '../fanout/view.ts';
import { newerThan } from '../fanout/view.ts';
import type { Directives } from '../hls/directives.ts';
import type { StreamState } from '../stream/model.ts';
import {
  decideLive,
  type MultivariantAnswer,
  multivariantAnswer,
  type PlaylistAnswer,
  renderLive,
} from '../stream/playlist-answers.ts';
import { PlaylistTexts } from '../stream/playlist-texts.ts';
import { hintDecision, type PartRef } from '../stream/reads.ts';

/** How the isolate asks its replica for a view: now (`after` null) or once newer than `after`; null: none. */
export type ViewSource = (after: FeedVersion | null) => Promise<ReplicaView | null>;

/** Milliseconds a view fetched with no long poll running stays fresh: two part targets (at least 200). */
function freshForMs(state: StreamState): number {
  return state.status === 'live' && state.config ? Math.max(200, 2000 * state.config.partTarget) : 2000;
}

export class EdgeView {
  #view: ReplicaView | null = null;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #current: Promise<void> | null = null;
  #next: Promise<boolean> | null = null;
  readonly texts = new PlaylistTexts();

  get view(): ReplicaView | null {
    return this.#view;
  }

  /**
   * A view no older than the freshness window (a long poll in flight keeps it fresh), for requests that wait
   * anyway: any view that holds what they wait for is a right answer (RFC 8216bis 6.2.5.2).
   */
  async fresh(source: ViewSource, now: number): Promise<ReplicaView | null> {
    const stale = !this.#view || (!this.#next && now - this.#fetchedAt > freshForMs(this.#view.state));
    return stale ? this.current(source) : this.#view;
  }

  /**
   * The replica's view as of now, for plain reloads and the multivariant playlist (a tune-in gets the newest
   * playlist, as the stream object would give it); one call at a time per isolate, shared.
   */
  async current(source: ViewSource): Promise<ReplicaView | null> {
    this.#current ??= this.#take(source(null))
      .then(() => undefined)
      .finally(() => {
        this.#current = null;
      });
    await this.#current;
    return this.#view;
  }

  /**
   * Waits for a view newer than the one held (one long poll per isolate, shared). False when the replica held
   * the poll its three target durations and nothing came: the blocking request's 503 (RFC 8216bis 6.2.5.2
   * leaves the wait to the server; DESIGN.md: three target durations). The replica keeps that timer.
   */
  next(source: ViewSource): Promise<boolean> {
    const after = this.#view?.version ?? null;
    this.#next ??= this.#take(source(after)).finally(() => {
      this.#next = null;
    });
    return this.#next;
  }

  async #take(pending: Promise<ReplicaView | null>): Promise<boolean> {
    const view = await pending;
    if (!view) return false;
    this.#fetchedAt = Date.now();
    if (this.#view && !newerThan(view.version, this.#view.version)) return false;
    this.#view = view;
    return true;
  }
}

/**
 * The current event's playlist from the edge view, waiting for newer views until it is ready; null when the
 * answer is a refusal the replica must confirm.
 */
export async function edgePlaylist(
  edge: EdgeView,
  source: ViewSource,
  rendition: string,
  d: Directives,
): Promise<PlaylistAnswer | null> {
  for (;;) {
    const state = edge.view?.state;
    if (!state) return null;
    const decision = decideLive(state, rendition, d);
    if (decision.kind === 'ready') return renderLive(state, edge.texts, rendition, d);
    if (decision.kind !== 'wait') return null;
    if (!(await edge.next(source))) return { kind: 'timeout', targetDuration: state.targetDuration };
  }
}

/**
 * A preload-hinted part: 'ready' once a view lists it with media, 'gap' once listed as a gap (RFC 8216bis
 * 4.4.4.9: no media will ever come), 'timeout' when no view did; null: ask the replica.
 */
export async function edgeHint(
  edge: EdgeView,
  source: ViewSource,
  part: PartRef,
): Promise<'ready' | 'gap' | 'timeout' | null> {
  for (;;) {
    const state = edge.view?.state;
    if (!state) return null;
    const decision = hintDecision(state, part);
    if (decision === 'ready' || decision === 'gap') return decision;
    if (decision !== 'wait') return null;
    if (!(await edge.next(source))) return 'timeout';
  }
}

export function edgeMultivariant(edge: EdgeView): MultivariantAnswer | null {
  const state = edge.view?.state;
  if (!state) return null;
  const answer = multivariantAnswer(state, edge.texts, edge.view?.multivariantHints);
  return answer.kind === 'playlist' ? answer : null;
}

/** Edge views per replica and isolate, bounded under a scan of made-up stream ids. */
export class EdgeViews {
  readonly #views = new Map<string, EdgeView>();

  of(key: string): EdgeView {
    let view = this.#views.get(key);
    if (!view) {
      if (this.#views.size >= 1_000) this.#views.clear();
      view = new EdgeView();
      this.#views.set(key, view);
    }
    return view;
  }
}
