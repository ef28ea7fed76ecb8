import { base64url } from './ids.ts';

/**
 * Keyset pagination cursor: the (createdAt, id) of the last stream on a page. Listing is ordered newest first
 * by (created_at DESC, id DESC), a total order, so a page boundary is stable: streams created while a client
 * pages never shift later pages, and no stream is returned twice or skipped.
 *
 * Opaque to clients: base64url of `{createdAt}.{id}`.
 */
export interface ListCursor {
  /** Epoch milliseconds. */
  createdAt: number;
  id: string;
}

export function encodeCursor(cursor: ListCursor): string {
  return base64url(new TextEncoder().encode(`${cursor.createdAt}.${cursor.id}`));
}

/** Returns null for anything that was not produced by `encodeCursor`. */
export function decodeCursor(text: string): ListCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  let plain: string;
  try {
    plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
  const match = /^(\d{1,15})\.([A-Za-z0-9_]{1,64})$/.exec(plain);
  if (!match) return null;
  return { createdAt: Number(match[1]), id: match[2] ?? '' };
}
