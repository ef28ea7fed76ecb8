/** Prometheus metrics of the SRT listener (`relay_srt_*`); per-connection series are labelled by stream id. */
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
