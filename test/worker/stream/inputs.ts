/**
 * Shared by the failover reducer tests: a stream config with 0.5 s parts and 2 s segments, a fixed clock origin,
 * and starting an input (a session with its init segment) of a given role at a stepped time.
 */

import { expect } from 'vitest';
import type { IngestRole } from '../../../src/contract/ingest.ts';
import { addPart } from '../../../src/stream/parts.ts';
import * as S from './room.ts';

/** Epoch ms that stepped time starts from (2026-01-01T00:00:00Z). */
export const T0 = 1_767_225_600_000;

export const CONFIG = {
  partTarget: 0.5,
  segmentTarget: 2,
  reconnectWindow: 5,
  failoverTimeout: 1.5,
  failbackHoldOff: 4,
};

/** Starts input `sessionId` as `role` at `at` (ms) and records its init segment. */
export function start(state: S.StreamState, sessionId: string, role: IngestRole, at: number): S.StreamState {
  const { state: next, result } = S.startSession(
    state,
    {
      streamId: 'st',
      sessionId,
      eventId: 'ev_1',
      config: CONFIG,
      protocol: 'rtmp',
      remoteAddress: 'x',
      relayId: 'r',
      role,
    },
    at,
  );
  if (!result.ok) throw new Error(result.detail);
  return S.putInit(next, sessionId, 'source', { codecs: ['avc1.64001f'], size: 900 }).state;
}

export interface DeliverOptions {
  /** Renditions each part goes to (default: the source only). */
  renditions?: readonly string[];
  /** Whether part `index` (0-3) of a segment of `rendition` starts with a keyframe (default: part 0 only). */
  independent?: (rendition: string, index: number) => boolean;
  /** Bytes of the session's `k`th part in `rendition` (default: 100 + k). */
  size?: (rendition: string, k: number) => number;
  /** Whether the session's `k`th part in `rendition` is a gap (default: none). */
  gap?: (rendition: string, k: number) => boolean;
}

/**
 * Input `sessionId` cuts 0.5 s parts, four to a segment, from pdt `offset` (ms after T0), each arriving 500 ms
 * after its first sample; delivers every part whose arrival is in (from, to] (ms after T0).
 */
export function deliver(
  state: S.StreamState,
  sessionId: string,
  offset: number,
  from: number,
  to: number,
  opts: DeliverOptions = {},
): S.StreamState {
  let s = state;
  const base = S.findSession(state, sessionId)?.firstMsn ?? 0;
  for (let k = 0; k < 400; k++) {
    const pdt = T0 + offset + k * 500;
    const at = pdt + 500;
    if (at <= T0 + from) continue;
    if (at > T0 + to) break;
    const index = k % 4;
    for (const rendition of opts.renditions ?? ['source']) {
      const gap = opts.gap?.(rendition, k) ?? false;
      const { state: next, result } = addPart(
        s,
        {
          sessionId,
          rendition,
          msn: base + Math.floor(k / 4),
          part: index,
          duration: 0.5,
          independent: opts.independent?.(rendition, index) ?? index === 0,
          programDateTime: pdt,
          segmentEnd: index === 3,
          size: gap ? 0 : (opts.size?.(rendition, k) ?? 100 + k),
          gap,
        },
        at,
      );
      expect(result.kind, JSON.stringify(result)).toBe('committed');
      s = next;
    }
  }
  return s;
}
