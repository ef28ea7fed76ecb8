/**
 * The move to a new session on a codec config change, at its edges: what arrives meanwhile is held up to a bound
 * (units past it dropped and counted, video resuming at a keyframe), a next session the Worker refuses ends the
 * publish, and a source that changes config over and over ends it too. Real access units (fixture.ts), a real
 * WorkerSink to the Worker stand-in.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemuxEvent, VideoTrackConfig } from '../../../ingest-relay/src/media/access-unit.ts';
import { registry } from '../../../ingest-relay/src/metrics.ts';
import { createIngestHub, type PublishSession } from '../../../ingest-relay/src/session.ts';
import { withTempDir } from '../../support/ffmpeg.ts';
import { makeDemuxEvents } from '../cmaf/fixture.ts';
import { FakeWorker } from '../upload/fake-worker.ts';

let configs: DemuxEvent[];
let units: (DemuxEvent & { type: 'unit' })[];
let video: VideoTrackConfig;
/** 3 s of media, ms ticks. */
const SPAN = 3000;

beforeAll(async () => {
  await withTempDir(async (dir) => {
    const { events } = await makeDemuxEvents(dir, { timescale: 1000, seconds: 3, gop: 30, bframes: 0 });
    configs = events.filter((e) => e.type === 'config');
    units = events.filter((e): e is DemuxEvent & { type: 'unit' } => e.type === 'unit');
    const v = configs[0];
    if (v?.type !== 'config' || v.track.kind !== 'video') throw new Error('video config first');
    video = v.track;
  });
}, 60_000);

/** The fixture's units, `k` spans later. */
const span = (k: number) =>
  units.map((e) => ({ ...e, unit: { ...e.unit, dts: e.unit.dts + k * SPAN, pts: e.unit.pts + k * SPAN } }));
/** The video config with one more PPS: another config, as a new resolution would be. */
const changed = (n: number): DemuxEvent => ({
  type: 'config',
  track: { ...video, avcC: Uint8Array.from([...video.avcC, n]) },
});

async function dropped(): Promise<number> {
  const metric = await registry.getSingleMetricAsString('relay_samples_dropped_total');
  return Number(/reason="heldForNextSession"\} (\d+)/.exec(metric)?.[1] ?? 0);
}

let worker: FakeWorker;
let session: PublishSession;
const fatal: string[] = [];

beforeEach(async () => {
  worker = new FakeWorker();
  const hub = createIngestHub({
    workerUrl: await worker.start(),
    ingestToken: 'test-ingest-token',
    relayId: 'r1',
  });
  session = await hub.open({ streamKey: 'good-key', protocol: 'rtmp', remoteAddress: '127.0.0.1:1' });
  fatal.length = 0;
  session.onFatal((r) => fatal.push(r));
  for (const ev of [...configs, ...span(0)]) session.push(ev);
});
afterEach(() => worker.stop());

describe('moving to a new session', () => {
  it('holds at most 4096 events meanwhile, drops the rest (counted), then resumes video at a keyframe', async () => {
    const before = await dropped();
    const drained = new Promise<void>((resolve) => session.onDrain(resolve));
    expect(session.push(changed(1))).toBe(false);
    const during = Array.from({ length: 20 }, (_, k) => span(k + 1)).flat();
    for (const ev of during) expect(session.push(ev)).toBe(false);
    await drained;
    // Live again: from the middle of a GOP, so video waits for the next keyframe.
    const live = span(21);
    const key = live.findIndex((e, i) => i > 0 && e.unit.kind === 'video' && e.unit.keyframe);
    const waiting = live.slice(0, key).filter((e) => e.unit.kind === 'video' && !e.unit.keyframe).length;
    for (const ev of live.slice(1)) session.push(ev);
    await session.end('encoder disconnected');
    const heldRoom = 4096 - configs.length;
    expect(live[0]?.unit).toMatchObject({ kind: 'video', keyframe: true }); // skipped: live starts after it
    expect((await dropped()) - before).toBe(during.length - heldRoom + waiting);
    expect(fatal).toEqual([]);
    expect(worker.sessions.map((s) => s.ended)).toEqual([
      'codec configuration changed',
      'encoder disconnected',
    ]);
  });

  it('ends the publish when the Worker refuses the next session', async () => {
    worker.fault = (r) =>
      r.path.endsWith('/sessions') && r.attempt === 2 ? { kind: 'status', status: 503 } : undefined;
    session.push(changed(1));
    for (const ev of span(1)) session.push(ev);
    await session.end('closed');
    expect(fatal).toEqual([
      expect.stringMatching(/^codec configuration changed; the next session could not start/),
    ]);
    expect(worker.sessions.map((s) => s.ended)).toEqual(['codec configuration changed']);
  });

  it('ends the publish when the config changes more than 5 times a minute', async () => {
    for (let k = 1; k <= 6; k++) {
      session.push(changed(k));
      for (const ev of span(k)) session.push(ev);
    }
    await session.end('closed');
    expect(fatal).toEqual(['codec configuration changed more than 5 times a minute']);
    expect(worker.sessions).toHaveLength(6);
    expect(worker.inits).toHaveLength(6);
  });
});
