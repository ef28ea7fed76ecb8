/**
 * Shared by the failover reducer tests: a stream config with 0.5 s parts and 2 s segments, a fixed clock origin,
 * and starting an input (a session with its init segment) of a given role at a stepped time.
 */
import type { IngestRole } from '../../../src/contract/ingest.ts';
import * as S from '../../../src/stream/state.ts';

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
