/** Prometheus metrics of the SRT listener (`relay_srt_*`); per-connection series are labelled by stream id. */
import { LIMIT_SPECS, limitHits } from '../../limits.ts';
import { counter, gauge } from '../../metrics.ts';

export const srtRejections = counter('relay_srt_rejections_total', 'SRT handshakes refused, by reason', [
  'reason',
]);
export const srtIgnoredPackets = counter(
  'relay_srt_ignored_packets_total',
  'SRT datagrams ignored: malformed, oversized, or from a stranger',
  ['reason'],
);
export const srtPackets = counter('relay_srt_packets_total', 'SRT data packets by outcome, per stream', [
  'stream_id',
  'outcome',
]);
export const srtRtt = gauge('relay_srt_rtt_seconds', 'Smoothed SRT round-trip time', ['stream_id']);
export const srtBitrate = gauge('relay_srt_receive_bitrate_bps', 'SRT received bits per second', [
  'stream_id',
]);

/** The counters of one connection last exported, so each report adds only what changed since. */
export interface Reported {
  received: number;
  lost: number;
  retransmitted: number;
  dropped: number;
  /** Beyond the receive buffer (SRT_MAX_BUFFER_PACKETS) and refused. */
  overflowed: number;
  /** Arrived after being dropped as too late: a sign the latency is too short for this path. */
  belated: number;
  /** Filled a gap after the deadline libsrt would have dropped it at, inside the relay's drop grace. */
  repairedLate: number;
  undecryptable: number;
}

export const NOTHING_REPORTED: Reported = {
  received: 0,
  lost: 0,
  retransmitted: 0,
  dropped: 0,
  overflowed: 0,
  belated: 0,
  repairedLate: 0,
  undecryptable: 0,
};

/** The outcomes exported per stream; `overflowed` also counts as a hit of SRT_MAX_BUFFER_PACKETS. */
const OUTCOMES = [
  'received',
  'lost',
  'retransmitted',
  'dropped',
  'overflowed',
  'belated',
  'repairedLate',
  'undecryptable',
] as const;

export function reportConnection(
  stats: Reported & { streamId: string; rttUs: number; bitrate: number },
  prev: Reported,
): Reported {
  const labels = { stream_id: stats.streamId };
  for (const outcome of OUTCOMES) {
    const delta = stats[outcome] - prev[outcome];
    if (delta > 0) srtPackets.inc({ ...labels, outcome }, delta);
  }
  const overflowed = stats.overflowed - prev.overflowed;
  if (overflowed > 0) limitHits.inc({ limit: LIMIT_SPECS.srtMaxBufferPackets.env }, overflowed);
  srtRtt.set(labels, stats.rttUs / 1e6);
  srtBitrate.set(labels, stats.bitrate);
  const {
    received,
    lost,
    retransmitted,
    dropped,
    overflowed: over,
    belated,
    repairedLate,
    undecryptable,
  } = stats;
  return { received, lost, retransmitted, dropped, overflowed: over, belated, repairedLate, undecryptable };
}

export function forgetConnection(streamId: string): void {
  srtRtt.remove({ stream_id: streamId });
  srtBitrate.remove({ stream_id: streamId });
}
