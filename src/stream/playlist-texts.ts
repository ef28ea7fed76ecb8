/**
 * Rendered playlists of one state, memoized: the state is immutable (reducers return a new object for any
 * change), so a text is valid exactly as long as the state it came from. Archived events never change, so
 * theirs are kept for good. Rendering itself is src/hls (a pure function of the state).
 */
import type { Directives } from '../hls/directives.ts';
import { deltaRequest } from '../hls/directives.ts';
import { buildMediaPlaylist, ended, type SkipRequest, serverControlFor } from '../hls/from-state.ts';
import { renderMediaPlaylist } from '../hls/render-media.ts';
import { renderMultivariantPlaylist } from '../hls/render-multivariant.ts';
import { buildMultivariantPlaylist, type MultivariantHints } from '../hls/variants.ts';
import { buildDvrPlaylist, dvrMultivariant } from '../recording/dvr-playlist.ts';
import type { RecordedSegment } from '../recording/index-store.ts';
import type { StreamState } from './model.ts';

export class PlaylistTexts {
  #of: StreamState | null = null;
  readonly #live = new Map<string, string | null>();
  readonly #archived = new Map<string, string | null>();

  /** A media playlist of the current state (a delta update when the directives ask and allow one). */
  media(state: StreamState, rendition: string, directives: Directives): string | null {
    const skip = this.#skip(state, directives);
    return this.#memo(state, `${rendition}|${skip ?? 'full'}`, () => {
      const model = buildMediaPlaylist(state, rendition, skip);
      return model ? renderMediaPlaylist(model) : null;
    });
  }

  /**
   * A DVR playlist of the current state (dvr-playlist.ts): the full live model with the window's earlier
   * segments in front, then skipped as the directives ask over the whole list.
   */
  dvr(
    state: StreamState,
    rendition: string,
    directives: Directives,
    earlier: (beforeMsn: number) => readonly RecordedSegment[],
  ): string | null {
    const skip = this.#skip(state, directives);
    return this.#memo(state, `dvr|${rendition}|${skip ?? 'full'}`, () => {
      const live = buildMediaPlaylist(state, rendition, null);
      if (!live || !state.config) return null;
      const before = live.segments[0]?.msn ?? live.mediaSequence;
      return renderMediaPlaylist(buildDvrPlaylist(live, earlier(before), state.config.dvrWindow, skip));
    });
  }

  /** The hints are part of the key: a new relay report re-renders it, even when the state did not move. */
  multivariant(
    state: StreamState,
    hints: MultivariantHints = {},
    kind: 'live' | 'dvr' = 'live',
  ): string | null {
    return this.#memo(state, `${kind}|master|${hints.ingestBitrate ?? ''}`, () => {
      const model = buildMultivariantPlaylist(state, hints);
      if (!model) return null;
      return renderMultivariantPlaylist(kind === 'dvr' ? dvrMultivariant(model) : model);
    });
  }

  /** An archived event's playlist: it carries ENDLIST, so it is always the full one (RFC 8216bis 6.2.5.2). */
  archived(event: StreamState, rendition: string): string | null {
    const key = `${event.eventId}|${rendition}`;
    if (!this.#archived.has(key)) {
      const model = buildMediaPlaylist(event, rendition, null);
      this.#archived.set(key, model ? renderMediaPlaylist(model) : null);
    }
    return this.#archived.get(key) ?? null;
  }

  clear(): void {
    this.#of = null;
    this.#live.clear();
    this.#archived.clear();
  }

  #skip(state: StreamState, directives: Directives): SkipRequest {
    return deltaRequest(directives, {
      canSkipUntil: serverControlFor(state.targetDuration, state.config?.partTarget ?? 0).canSkipUntil,
      ended: ended(state),
    });
  }

  #memo(state: StreamState, key: string, render: () => string | null): string | null {
    if (state !== this.#of) {
      this.#of = state;
      this.#live.clear();
    }
    if (!this.#live.has(key)) this.#live.set(key, render());
    return this.#live.get(key) ?? null;
  }
}
