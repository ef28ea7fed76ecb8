/**
 * Captions (issue 12): CEA-608 in A/53 SEI, put into real libx264 access units and remuxed by ffmpeg into
 * MPEG-TS and FLV, go through the relay's demuxers, segmenter and session: the source's init upload says
 * `ingest-closed-captions: ?1` (`?0` without captions), and a ladder rung says what its source says, with
 * the captions really in the rung's pictures (ffprobe).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderAdmission } from '../../../ingest-relay/src/ladder/admission.ts';
import { createIngestHub } from '../../../ingest-relay/src/session.ts';
import { InitHeaders } from '../../../src/contract/ingest.ts';
import { makeCaptionedFiles, probeCaptionedFrames, readBytes } from '../codec/a53-captions.ts';
import { FakeWorker } from '../upload/fake-worker.ts';
import { type Container, demuxFile, pushPaced } from './file-events.ts';

let dir: string;
const files: Record<'captioned' | 'plain', { ts: string; flv: string }> = {
  captioned: { ts: '', flv: '' },
  plain: { ts: '', flv: '' },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'captions-'));
  files.captioned = await makeCaptionedFiles(dir, 'captioned', true, { seconds: 2 });
  files.plain = await makeCaptionedFiles(dir, 'plain', false, { seconds: 2 });
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const request = { streamKey: 'good-key', protocol: 'srt' as const, remoteAddress: '127.0.0.1:50000' };

async function publish(worker: FakeWorker, container: Container, file: string, ladder = false) {
  const url = await worker.start();
  const hub = createIngestHub({
    workerUrl: url,
    ingestToken: 'test-ingest-token',
    relayId: 'r1',
    ladder: ladder
      ? { ffmpegPath: 'ffmpeg', admission: new LadderAdmission({ maxInputs: 1, minIdlePercent: 0 }) }
      : undefined,
  });
  const session = await hub.open(request);
  const events = demuxFile(container, await readBytes(file));
  if (ladder) await pushPaced(session, events);
  else for (const ev of events) session.push(ev);
  await session.end('encoder disconnected');
  const initOf = (rendition: string) =>
    worker.inits.find((r) => r.path.includes(`/renditions/${rendition}/`));
  return { initOf };
}

describe('closed captions', () => {
  it('are really in the fixtures: ffprobe decodes A/53 side data in every captioned frame, none in the plain', async () => {
    for (const container of ['ts', 'flv'] as const) {
      const captioned = await probeCaptionedFrames(files.captioned[container]);
      expect(captioned.frames).toBeGreaterThanOrEqual(59);
      expect(captioned.captioned).toBe(captioned.frames);
      expect((await probeCaptionedFrames(files.plain[container])).captioned).toBe(0);
    }
  }, 30_000);

  it.each(['ts', 'flv'] as const)(
    'are declared on the source init from the first keyframe (%s)',
    async (container) => {
      const captioned = new FakeWorker();
      const plain = new FakeWorker();
      try {
        const withCc = await publish(captioned, container, files.captioned[container]);
        expect(withCc.initOf('source')?.headers[InitHeaders.closedCaptions]).toBe('?1');
        const without = await publish(plain, container, files.plain[container]);
        expect(without.initOf('source')?.headers).toMatchObject({ [InitHeaders.resolution]: '320x180' });
        expect(without.initOf('source')?.headers[InitHeaders.closedCaptions]).toBe('?0');
      } finally {
        await captioned.stop();
        await plain.stop();
      }
    },
    30_000,
  );

  it('are declared on a rung whose source has them, and libx264 really carries them into the rung', async () => {
    const worker = new FakeWorker();
    // 1 s segments: a rung starts at a segment start, so on a loaded box a late ffmpeg start costs one second.
    const ladder = [{ name: '144p', height: 144, videoBitrate: 200_000 }];
    worker.config = { ...worker.config, segmentTarget: 1, ladder };
    try {
      const { initOf } = await publish(worker, 'ts', files.captioned.ts, true);
      expect(initOf('source')?.headers[InitHeaders.closedCaptions]).toBe('?1');
      const rungInit = initOf('144p');
      expect(rungInit?.headers).toMatchObject({
        [InitHeaders.resolution]: '256x144',
        [InitHeaders.closedCaptions]: '?1',
      });
      const parts = worker.requests.filter(
        (r) => r.method === 'PUT' && r.path.includes('/renditions/144p/parts/') && r.attempt === 1,
      );
      expect(parts.length).toBeGreaterThanOrEqual(3);
      const rung = join(dir, 'rung.mp4');
      await writeFile(rung, Buffer.concat([rungInit!.body, ...parts.map((p) => p.body)]));
      const probed = await probeCaptionedFrames(rung);
      expect(probed.frames).toBeGreaterThanOrEqual(25); // at least the last of the two 1 s segments
      expect(probed.captioned).toBe(probed.frames);
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
