/** A refused publish as SRT says it: the hub's refusal code mapped onto SRT_REJX_* (libsrt access control). */
import { refusalOf } from '../../ingest-hub.ts';
import { RejectX } from './stream-id.ts';

/** Maps a hub refusal to an SRT_REJX_* code (libsrt access-control: HTTP-like codes plus 1000). */
export function refusalFor(err: unknown): { code: number; reason: string } {
  const { code, message } = refusalOf(err);
  switch (code) {
    case 'unknown-key':
      return { code: RejectX.notFound, reason: 'unknown stream key' };
    case 'already-live':
      return { code: RejectX.conflict, reason: 'stream already live' };
    case 'bad-request':
      return { code: RejectX.badRequest, reason: message };
    case 'unavailable':
      return { code: RejectX.unavailable, reason: message };
  }
}
