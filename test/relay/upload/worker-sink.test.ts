import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemorySink } from '../../../ingest-relay/src/upload/memory-sink.ts';
import type { MediaSink, SinkFailed } from '../../../ingest-relay/src/upload/sink.ts';
import { WorkerClient, WorkerRefused } from '../../../ingest-relay/src/upload/worker-client.ts';
import { WorkerSink, type WorkerSinkOptions } from '../../../ingest-relay/src/upload/worker-sink.ts';
import { type PartMeta, PENDING_WINDOW, SOURCE_RENDITION } from '../../../src/contract/ingest.ts';
import { FakeWorker } from './fake-worker.ts';

let worker: FakeWorker;
let url: string;
beforeEach(async () => {
  worker = new FakeWorker();
  url = await worker.start();
});
afterEach(() => worker.stop());

const meta = (msn: number, part: number, size: number): PartMeta => ({
  rendition: SOURCE_RENDITION,
  msn,
  part,
  duration: 0.333333,
  independent: part === 0,
  programDateTime: 1_700_000_000_000 + part,
  segmentEnd: part === 5,
  size,
});

function sink(extra: Partial<WorkerSinkOptions> = {}): WorkerSink {
  const client = new WorkerClient({ workerUrl: url, ingestToken: 'test-ingest-token', timeoutMs: 300 });
  return new WorkerSink({
    client,
    streamId: 'st_1',
    sessionId: 'se_1',
    backoffBaseMs: 10,
    backoffMaxMs: 50,
    ...extra,
  });
}

/** 3 segments of 6 parts. */
function feed(s: MediaSink, count = 18): string[] {
  const ids: string[] = [];
  s.putInit(
    { rendition: SOURCE_RENDITION, codecs: 'avc1.64001f,mp4a.40.2', resolution: '320x180', frameRate: 30 },
    new Uint8Array(500),
  );
  for (let i = 0; i < count; i++) {
    const m = meta(Math.floor(i / 6), i % 6, 1000 + i);
    ids.push(`${m.msn}.${m.part}`);
    s.putPart(m, new Uint8Array(m.size).fill(i));
  }
  worker.order = ids;
  return ids;
}

describe('WorkerSink against a local HTTP Worker', () => {
  it('uploads init then every part once, in order, with the contract headers', async () => {
    const s = sink();
    const ids = feed(s);
    const result = await s.end('encoder disconnected');
    expect(result).toEqual({ uploaded: 18, givenUp: 0 });
    expect(worker.committed).toEqual(ids);
    expect(worker.ended).toEqual({ reason: 'encoder disconnected' });
    expect(worker.inits[0]!.headers).toMatchObject({
      'ingest-codecs': 'avc1.64001f,mp4a.40.2',
      'ingest-resolution': '320x180',
      'ingest-frame-rate': '30',
    });
    // The init is acknowledged before the first part starts.
    const firstPart = worker.requests.findIndex((r) => r.path.includes('/parts/'));
    expect(worker.requests.findIndex((r) => r.path.endsWith('/init'))).toBeLessThan(firstPart);
    expect(worker.stored.get('0.0')!.headers).toMatchObject({
      'ingest-duration': '0.333333',
      'ingest-independent': '?1',
      'ingest-segment-end': '?0',
      'ingest-program-date-time': '2023-11-14T22:13:20.000Z',
      authorization: 'Bearer test-ingest-token',
    });
    expect(worker.stored.get('0.5')!.headers['ingest-segment-end']).toBe('?1');
    expect(s.stats.takeLatencies()).toHaveLength(18);
  });

  it('retries 500s, timeouts and slow answers without losing or duplicating a part', async () => {
    worker.fault = (r) => {
      if (r.path.endsWith('/parts/0/2') && r.attempt <= 2) return { kind: 'status', status: 500 };
      if (r.path.endsWith('/parts/1/1') && r.attempt === 1) return { kind: 'hang' }; // client times out at 300 ms
      if (r.path.endsWith('/parts/2/0') && r.attempt === 1) return { kind: 'status', status: 503 };
      if (r.path.includes('/parts/1/')) return { kind: 'delay', ms: 40 };
      return undefined;
    };
    const s = sink();
    const ids = feed(s);
    const result = await s.end('done');
    expect(result).toEqual({ uploaded: 18, givenUp: 0 });
    expect(s.stats.retries).toBe(4);
    expect(worker.committed).toEqual(ids);
    expect([...worker.stored.keys()].sort()).toEqual([...ids].sort());
  });

  it('keeps every part within its window of the oldest one unacknowledged while that one is retried', async () => {
    // Part 0.2 fails five times (a Worker restarting); the others are acknowledged at once, as `pending` behind
    // it. Acknowledging them must not let later parts start: the stream object holds at most PENDING_WINDOW
    // ahead of the part it expects, and refuses the next with a 409 that ends the session.
    let heldMost = 0;
    worker.fault = (r) => {
      const parts = [...worker.stored.keys()].length;
      heldMost = Math.max(heldMost, parts - worker.committed.length);
      if (r.path.endsWith('/parts/0/2') && r.attempt <= 5) return { kind: 'status', status: 503 };
      return undefined;
    };
    const s = sink();
    const ids = feed(s);
    const result = await s.end('done');
    expect(result).toEqual({ uploaded: 18, givenUp: 0 });
    expect(worker.committed).toEqual(ids);
    // 0.3, 0.4 and 0.5 held behind 0.2 (four in flight); before the window, all fifteen after it were.
    expect(heldMost).toBe(3);
    expect(heldMost).toBeLessThan(PENDING_WINDOW);
  });

  it('gives up on a part only after the retry deadline, counted, and keeps going', async () => {
    worker.fault = (r) => (r.path.endsWith('/parts/0/3') ? { kind: 'status', status: 502 } : undefined);
    const s = sink({ retryDeadlineMs: 200 });
    feed(s, 6);
    const result = await s.end('done');
    expect(result).toEqual({ uploaded: 5, givenUp: 1 });
    expect(worker.requests.filter((r) => r.path.endsWith('/parts/0/3')).length).toBeGreaterThan(2);
  });

  it('treats a 409 timeline break as fatal for the session, and never retries a 4xx', async () => {
    worker.fault = (r) =>
      r.path.endsWith('/parts/0/1') ? { kind: 'status', status: 409, type: 'timeline-break' } : undefined;
    const s = sink();
    const failures: SinkFailed[] = [];
    s.onFailed((e) => failures.push(e));
    feed(s, 12);
    await s.end('failed');
    expect(failures.map((f) => f.code)).toEqual(['timeline-break']);
    expect(worker.requests.filter((r) => r.path.endsWith('/parts/0/1'))).toHaveLength(1);
    expect(worker.ended).toEqual({ reason: 'failed' });
  });

  it('engages back-pressure past the byte budget and drains when the Worker catches up', async () => {
    worker.fault = (r) => (r.path.includes('/parts/') ? { kind: 'delay', ms: 30 } : undefined);
    const s = sink({ budgetBytes: 6000, maxInFlight: 2 });
    let drained = 0;
    s.onDrain(() => drained++);
    s.putInit({ rendition: SOURCE_RENDITION, codecs: 'avc1.64001f' }, new Uint8Array(100));
    const answers = Array.from({ length: 10 }, (_, i) => s.putPart(meta(0, i, 1000), new Uint8Array(1000)));
    worker.order = answers.map((_, i) => `0.${i}`);
    expect(answers[3]!.backpressure).toBe(false);
    expect(answers.at(-1)!.backpressure).toBe(true);
    expect(answers.at(-1)!.bufferedBytes).toBe(10_100);
    await s.end('done');
    expect(drained).toBe(1);
    expect(worker.committed).toHaveLength(10);
  });

  it('types the client errors: 4xx with the problem slug, 5xx as unavailable', async () => {
    const client = new WorkerClient({ workerUrl: url, ingestToken: 'test-ingest-token' });
    const refused = await client.authorize({ streamKey: 'nope', protocol: 'rtmp' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkerRefused);
    expect(refused).toMatchObject({ status: 404, problemType: 'unknown-key', detail: 'no such key' });
    const bad = new WorkerClient({ workerUrl: url, ingestToken: 'wrong' });
    await expect(bad.authorize({ streamKey: 'good-key', protocol: 'rtmp' })).rejects.toMatchObject({
      status: 401,
    });
    worker.fault = () => ({ kind: 'status', status: 500 });
    await expect(client.authorize({ streamKey: 'good-key', protocol: 'rtmp' })).rejects.toMatchObject({
      name: 'WorkerUnavailable',
      status: 500,
    });
  });

  it('the memory sink records the same calls', async () => {
    const s = new MemorySink();
    const ids = feed(s);
    await s.end('bye');
    expect(s.parts.map((p) => `${p.meta.msn}.${p.meta.part}`)).toEqual(ids);
    expect(s.ended).toBe('bye');
  });
});
