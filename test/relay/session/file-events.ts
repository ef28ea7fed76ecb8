/**
 * A file ffmpeg wrote, through the relay's own demuxer (MPEG-TS as SRT carries it, FLV tags as RTMP does), into
 * a publish session: the listener's half of the pipeline, without sockets.
 */
import { FlvDemuxer } from '../../../ingest-relay/src/demux/flv.ts';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import type { PublishSession } from '../../../ingest-relay/src/session.ts';
import { readFlvTags } from '../demux/flv-file.ts';

export type Container = 'ts' | 'flv';

/** Every demux event of `bytes`, `receivedAt` = `wallStart` (pacing gives the real clock when it matters). */
export function demuxFile(container: Container, bytes: Uint8Array, wallStart = Date.now()): DemuxEvent[] {
  if (container === 'ts') {
    const d = new TsDemuxer();
    return [...d.push(bytes, wallStart), ...d.flush()];
  }
  const d = new FlvDemuxer();
  return readFlvTags(bytes).flatMap((t) =>
    t.type === 9
      ? d.video(t.body, t.timestamp, wallStart)
      : t.type === 8
        ? d.audio(t.body, t.timestamp, wallStart)
        : [],
  );
}

/** Pushes `events` into `session`, each video unit no earlier than its media time after the first (real time). */
export async function pushPaced(session: PublishSession, events: readonly DemuxEvent[]): Promise<void> {
  const started = performance.now();
  let first: number | undefined;
  let timescale = 1;
  for (const ev of events) {
    if (ev.type === 'config' && ev.track.kind === 'video') timescale = ev.track.timescale;
    if (ev.type === 'unit' && ev.unit.kind === 'video') {
      first ??= ev.unit.dts;
      const wait = started + ((ev.unit.dts - first) / timescale) * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    session.push(ev);
  }
}
