/**
 * A session with a ladder against a real HTTP implementation of the ingest contract (FakeWorker): rung parts
 * go up beside the source's with the same numbers, and a rung the Worker refuses fails alone.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LadderAdmission } from '../../../ingest-relay/src/ladder/admission.ts';
import type { DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { createIngestHub } from '../../../ingest-relay/src/session.ts';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import { withTempDir } from '../../support/ffmpeg.ts';
import { makeDemuxEvents } from '../cmaf/fixture.ts';
import { FakeWorker } from '../upload/fake-worker.ts';

let events: DemuxEvent[] = [];
let worker: FakeWorker;
let url: string;

beforeAll(async () => {
  await withTempDir(async (dir) => {
    ({ events } = await makeDemuxEvents(dir, { timescale: 1000, seconds: 3, gop: 30, bframes: 2 }));
  });
}, 60_000);
beforeEach(async () => {
  worker = new FakeWorker();
  worker.config = { ...worker.config, ladder: [{ name: '90p', height: 90, videoBitrate: 150_000 }] };
  url = await worker.start();
});
afterEach(() => worker.stop());

const request = { streamKey: 'good-key', protocol: 'rtmp' as const, remoteAddress: '127.0.0.1:50000' };

function hub() {
  return createIngestHub({
    workerUrl: url,
    ingestToken: 'test-ingest-token',
    relayId: 'r1',
    healthIntervalMs: 100,
    ladder: { ffmpegPath: 'ffmpeg', admission: new LadderAdmission({ maxInputs: 2, minIdlePercent: 0 }) },
  });
}

async function publish(): Promise<string[]> {
  const session = await hub().open(request);
  const fatal: string[] = [];
  session.onFatal((r) => fatal.push(r));
  // Paced a little, as a live source: ffmpeg keeps up with 180p in far less than real time.
  for (let i = 0; i < events.length; i += 30) {
    for (const ev of events.slice(i, i + 30)) session.push(ev);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await session.end('done');
  return fatal;
}

describe('a session with a ladder', () => {
  it('uploads each rung beside the source, part for part, with its own init and nominal bandwidth', async () => {
    expect(await publish()).toEqual([]);
    // Uploads are pipelined, so arrival order is not part order: compare the sets.
    const byNumber = (a: string, b: string) => {
      const [am, ap] = a.split('.').map(Number) as [number, number];
      const [bm, bp] = b.split('.').map(Number) as [number, number];
      return am - bm || ap - bp;
    };
    const source = [...worker.stored.keys()].filter((k) => !k.includes('/')).sort(byNumber);
    const rung = [...worker.stored.keys()]
      .filter((k) => k.startsWith('90p/'))
      .map((k) => k.slice(4))
      .sort(byNumber);
    expect(source.length).toBeGreaterThan(5);
    expect(rung).toEqual(source);
    // The source's init names the session's rungs, so the multivariant can wait for them (issue 12).
    const sourceInit = worker.inits.find((r) => r.path.includes('/renditions/source/'));
    expect(sourceInit?.headers['ingest-renditions']).toBe('90p');
    const rungInit = worker.inits.find((r) => r.path.includes('/renditions/90p/'));
    expect(rungInit?.headers['ingest-resolution']).toBe('160x90');
    expect(Number(rungInit?.headers['ingest-bandwidth'])).toBeGreaterThan(150_000);
    expect(worker.ended).toEqual({ reason: 'done' });
  }, 60_000);

  it('fails only the rung when the Worker refuses its uploads: the source goes on', async () => {
    worker.fault = (r) =>
      r.path.includes('/renditions/90p/parts/')
        ? { kind: 'status', status: 400, type: 'bad-part' }
        : undefined;
    expect(await publish()).toEqual([]);
    expect([...worker.stored.keys()].filter((k) => !k.includes('/')).length).toBeGreaterThan(5);
    expect(worker.ended).toEqual({ reason: 'done' });
    const last = worker.health.at(-1) as SessionHealthReport;
    expect(last.ladder?.rungs[0]).toMatchObject({
      id: '90p',
      state: 'failed',
      reason: expect.stringMatching(/400/),
    });
  }, 60_000);
});
