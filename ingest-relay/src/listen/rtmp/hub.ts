/**
 * The part of the session layer (`../../session.ts`) the RTMP listener drives: open a publishing session,
 * push demuxed events into it, end it. Tests pass a recording hub with the same shape.
 */
import {
  type IngestHub,
  PublishRefused,
  type PublishRefusedCode,
  type PublishSession,
} from '../../session.ts';

export type { PublishRequest } from '../../session.ts';
export type PublishHub = Pick<IngestHub, 'open'>;
export type PublishSessionPort = PublishSession;

/**
 * Why `open()` failed: a PublishRefused carries its code; anything else means the Worker could not be asked,
 * which the encoder should treat as "try again later".
 */
export function publishRefusal(err: unknown): { code: PublishRefusedCode; message: string } {
  if (err instanceof PublishRefused) return { code: err.code, message: err.message };
  return { code: 'unavailable', message: err instanceof Error ? err.message : 'publish could not be opened' };
}
