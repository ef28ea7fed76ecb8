/**
 * Rendered playlists of one state, memoized: the state is immutable (reducers return a new object for any
 * change), so a text is valid exactly as long as the state it came from. Archived events never change, so
 * theirs are kept for good. Rendering itself is src/hls (a pure function of the state).
 */
import type { Directives } from '../hls/directives.ts';
import { deltaRequest } from '../hls/directives.ts';
import { buildMediaPlaylist, ended, serverControlFor } from '../hls/from-state.ts';
import { renderMediaPlaylist } from '../hls/render-media.ts';
import { renderMultivariantPlaylist } from '../hls/render-multivariant.ts';
import { buildMultivariantPlaylist, type MultivariantHints } from '../hls/variants.ts';
import type { StreamState } from './model.ts';

export class PlaylistTexts {
  #of: StreamState | null = null;
  readonly #live = new Map<string, string | null>();
  readonly #archived = new Map<string, string | null>();

  /** A media playlist of the current state (a delta update when the directives ask and allow one). */
  media(state: StreamState, rendition: string, directives: Directives): string | null {
    const skip = deltaRequest(directives, {
      canSkipUntil: serverControlFor(state.targetDuration, state.config?.partTarget ?? 0).canSkipUntil,
      ended: ended(state),
    });
    return this.#memo(state, `${rendition}|${skip ?? 'full'}`, () => {
      const model = buildMediaPlaylist(state, rendition, skip);
      return model ? renderMediaPlaylist(model) : null;
    });
  }

  /** The hints are part of the key: a new relay report re-renders it, even when the state did not move. */
  multivariant(state: StreamState, hints: MultivariantHints = {}): string | null {
    return this.#memo(state, `master|${hints.ingestBitrate ?? ''}`, () => {
      const model = buildMultivariantPlaylist(state, hints);
      return model ? renderMultivariantPlaylist(model) : null;
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

  #memo(state: StreamState, key: string, render: () => string | null): string | null {
    if (state !== this.#of) {
      this.#of = state;
      this.#live.clear();
    }
    if (!this.#live.has(key)) this.#live.set(key, render());
    return this.#live.get(key) ?? null;
  }
}
