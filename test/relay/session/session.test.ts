import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { createIngestHub, PublishRefused } from '../../../ingest-relay/src/session.ts';
import { MemorySink } from '../../../ingest-relay/src/upload/memory-sink.ts';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import { withTempDir } from '../../support/ffmpeg.ts';
import { makeDemuxEvents } from '../cmaf/fixture.ts';
import { FakeWorker } from '../upload/fake-worker.ts';

let worker: FakeWorker;
let url: string;
let events: DemuxEvent[] = [];

beforeEach(async () => {
  worker = new FakeWorker();
  url = await worker.start();
  if (events.length === 0) {
    await withTempDir(async (dir) => {
      ({ events } = await makeDemuxEvents(dir, { timescale: 1000, seconds: 3, gop: 30, bframes: 2 }));
    });
  }
}, 60_000);
afterEach(() => worker.stop());

const request = { streamKey: 'good-key', protocol: 'rtmp' as const, remoteAddress: '127.0.0.1:50000' };

describe('publish session pipeline', () => {
  it('turns demux events into an init and parts in the sink, with health reports', async () => {
    const sink = new MemorySink();
    const hub = createIngestHub({
      workerUrl: url,
      ingestToken: 'test-ingest-token',
      relayId: 'r1',
      sink: () => sink,
    });
    const session = await hub.open(request, { extraHealth: () => ({ ingestBitrate: 1234 }) });
    expect(session).toMatchObject({ streamId: 'st_1', sessionId: 'se_1', config: { partTarget: 0.333 } });
    for (const ev of events) expect(session.push(ev)).toBe(true);
    await session.end('encoder disconnected');
    expect(sink.ended).toBe('encoder disconnected');
    expect(sink.inits[0]!.meta).toMatchObject({ rendition: 'source', resolution: '320x180', frameRate: 30 });
    expect(sink.parts[0]!.meta).toMatchObject({ msn: 4, part: 0, independent: true });
    // Exactly the contract's PartMeta: the segmenter's part travels with nothing of its own (type, bytes) added.
    expect(Object.keys(sink.parts[0]!.meta).sort()).toEqual([
      'duration',
      'independent',
      'msn',
      'part',
      'programDateTime',
      'rendition',
      'segmentEnd',
      'size',
    ]);
    expect(sink.parts.at(-1)!.meta.segmentEnd).toBe(true);
    expect(sink.parts.reduce((s, p) => s + p.meta.duration, 0)).toBeCloseTo(3, 2);
    const report = sink.healthReports.at(-1) as SessionHealthReport;
    expect(report).toMatchObject({
      protocol: 'rtmp',
      remoteAddress: '127.0.0.1:50000',
      ingestBitrate: 1234,
      video: {
        codec: expect.stringMatching(/^avc1\./),
        profile: 'High',
        bFrames: true,
        keyframeInterval: 1,
        width: 320,
      },
      audio: { codec: 'mp4a.40.2', profile: 'LC' },
      partsGivenUp: 0,
    });
    expect(Math.abs(report.avDriftMs!)).toBeLessThan(200);
    await session.end('again'); // idempotent
    expect(sink.ended).toBe('encoder disconnected');
  });

  it('refuses unknown keys and an unreachable Worker with typed reasons', async () => {
    const hub = createIngestHub({ workerUrl: url, ingestToken: 'test-ingest-token', relayId: 'r1' });
    await expect(hub.open({ ...request, streamKey: 'bad' })).rejects.toMatchObject({ code: 'unknown-key' });
    await expect(hub.authorize('bad', 'srt')).rejects.toBeInstanceOf(PublishRefused);
    await expect(hub.authorize('good-key', 'srt')).resolves.toMatchObject({ streamId: 'st_1' });
    const down = createIngestHub({ workerUrl: 'http://127.0.0.1:9', ingestToken: 'x', relayId: 'r1' });
    await expect(down.open(request)).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('uploads through the Worker sink despite 500s, and reports health on its interval', async () => {
    worker.fault = (r) =>
      r.path.includes('/parts/4/') && r.attempt === 1 ? { kind: 'status', status: 500 } : undefined;
    const hub = createIngestHub({
      workerUrl: url,
      ingestToken: 'test-ingest-token',
      relayId: 'r1',
      healthIntervalMs: 50,
    });
    const session = await hub.open(request);
    for (const ev of events) session.push(ev);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await session.end('done');
    const parts = worker.requests.filter((r) => r.path.includes('/parts/') && r.method === 'PUT');
    const distinct = new Set(parts.map((r) => r.path));
    expect(worker.stored.size).toBe(distinct.size);
    expect(worker.stored.size).toBeGreaterThan(10);
    expect(parts.length).toBeGreaterThan(distinct.size); // the 500s were retried
    expect(worker.inits).toHaveLength(1);
    expect(worker.health.length).toBeGreaterThanOrEqual(2);
    expect(worker.ended).toEqual({ reason: 'done' });
  });

  it('ends with a reason on a timeline break (409)', async () => {
    worker.fault = (r) =>
      r.path.endsWith('/parts/4/2') ? { kind: 'status', status: 409, type: 'timeline-break' } : undefined;
    const hub = createIngestHub({ workerUrl: url, ingestToken: 'test-ingest-token', relayId: 'r1' });
    const session = await hub.open(request);
    const fatal = new Promise<string>((resolve) => session.onFatal(resolve));
    for (const ev of events) session.push(ev);
    expect(await fatal).toMatch(/409/);
    await session.end('closed');
    expect(worker.ended).toEqual({ reason: expect.stringMatching(/409/) });
  });

  it('moves to a new session on a codec change instead of failing: pauses, then drains', async () => {
    const hub = createIngestHub({ workerUrl: url, ingestToken: 'test-ingest-token', relayId: 'r1' });
    const session = await hub.open(request);
    const reasons: string[] = [];
    session.onFatal((r) => reasons.push(r));
    let drained = 0;
    session.onDrain(() => drained++);
    const video = events[0]!;
    if (video.type !== 'config' || video.track.kind !== 'video') throw new Error('video config first');
    const changed = { ...video.track, avcC: video.track.avcC.slice(0, -1) };
    const split = events.findIndex(
      (e, i) => i > 150 && e.type === 'unit' && e.unit.keyframe && e.unit.kind === 'video',
    );
    for (const ev of events.slice(0, split)) expect(session.push(ev)).toBe(true);
    expect(session.push({ type: 'config', track: changed })).toBe(false); // the next session is starting
    for (const ev of events.slice(split)) session.push(ev);
    expect(session.sessionId).toBe('se_1');
    await session.end('encoder disconnected');
    expect(reasons).toEqual([]);
    expect(drained).toBe(1);
    expect(session.sessionId).toBe('se_2');
    expect(worker.sessions).toEqual([
      { id: 'se_1', streamKey: 'good-key', ended: 'codec configuration changed' },
      { id: 'se_2', streamKey: 'good-key', ended: 'encoder disconnected' },
    ]);
    expect(worker.inits.map((r) => r.path.split('/')[6])).toEqual(['se_1', 'se_2']);
    const parts = worker.requests.filter((r) => r.method === 'PUT' && r.path.includes('/parts/'));
    const last = parts.filter((r) => r.path.includes('/se_1/')).at(-1)!;
    expect(last.headers['ingest-segment-end']).toBe('?1');
    const next = parts.find((r) => r.path.includes('/se_2/'))!;
    expect(next.headers['ingest-independent']).toBe('?1');
    // The second session numbers on from the first's last segment (the Worker's firstMsn).
    const msn = (r: { path: string }) => Number(r.path.split('/').at(-2));
    expect(msn(next)).toBe(msn(last) + 1);
  });

  it('ends a session the Worker answers 410 for on a health report (taken over elsewhere)', async () => {
    worker.fault = (r) =>
      r.path.endsWith('/health') ? { kind: 'status', status: 410, type: 'session-gone' } : undefined;
    const hub = createIngestHub({
      workerUrl: url,
      ingestToken: 'test-ingest-token',
      relayId: 'r1',
      healthIntervalMs: 50,
    });
    const session = await hub.open(request);
    const fatal = new Promise<string>((resolve) => session.onFatal(resolve));
    for (const ev of events.slice(0, 50)) session.push(ev);
    expect(await fatal).toMatch(/the Worker ended the session.*410/);
    await session.end('closed');
  });
});
