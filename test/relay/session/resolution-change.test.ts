/**
 * A resolution change mid-event (issue 12, ingest rules), published by ffmpeg over one connection: two clips of
 * different sizes joined by ffmpeg's concat demuxer (`-c copy`, in-band SPS/PPS at the second clip's first
 * keyframe), to the relay's real listener, uploading to a Worker stand-in. The first session ends with
 * `codec configuration changed` after its last part; a second one starts at the new keyframe with its own init
 * and its own ladder; nothing is fatal and each session's pictures are its clip's, bit for bit.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LadderAdmission } from '../../../ingest-relay/src/ladder/admission.ts';
import { startRtmpServer } from '../../../ingest-relay/src/listen/rtmp/server.ts';
import { startSrtServer } from '../../../ingest-relay/src/listen/srt/server.ts';
import { createIngestHub } from '../../../ingest-relay/src/session.ts';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import { InitHeaders } from '../../../src/contract/ingest.ts';
import { ffmpeg } from '../../support/ffmpeg.ts';
import { waitFor } from '../rtmp/support.ts';
import { type FakeRequest, FakeWorker } from '../upload/fake-worker.ts';

let dir: string;
let list: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'resolution-change-'));
  for (const size of ['320x180', '480x270']) {
    // biome-ignore format: argument pairs
    await ffmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=2`, '-f', 'lavfi', '-i', 'sine=sample_rate=48000:duration=2',
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-bf', '0', '-c:a', 'aac', '-f', 'mpegts', join(dir, `${size}.ts`),
    ]);
  }
  list = join(dir, 'list.txt');
  await writeFile(list, "file '320x180.ts'\nfile '480x270.ts'\n");
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** One session's rendition as the Worker got it: its init and its parts in order, as one fMP4 file. */
async function renditionFile(worker: FakeWorker, sessionId: string, rendition: string): Promise<string> {
  const of = (r: FakeRequest) =>
    r.method === 'PUT' && r.path.includes(`/sessions/${sessionId}/renditions/${rendition}/`);
  const init = worker.inits.find(of)!;
  const parts = worker.requests.filter((r) => of(r) && r.path.includes('/parts/') && r.attempt === 1);
  const file = join(dir, `${sessionId}-${rendition}.mp4`);
  await writeFile(file, Buffer.concat([init.body, ...parts.map((p) => p.body)]));
  return file;
}

const LADDER = [{ name: '144p', height: 144, videoBitrate: 200_000 }];

async function relayTo(worker: FakeWorker, ladder: boolean) {
  // 1 s segments: a rung starts at a segment start, so a late ffmpeg start costs a second, not the session.
  if (ladder) worker.config = { ...worker.config, segmentTarget: 1, ladder: LADDER };
  return createIngestHub({
    workerUrl: await worker.start(),
    ingestToken: 'test-ingest-token',
    relayId: 'r1',
    ladder: ladder
      ? { ffmpegPath: 'ffmpeg', admission: new LadderAdmission({ maxInputs: 1, minIdlePercent: 0 }) }
      : undefined,
  });
}

/** ffmpeg joins the two clips and publishes them at real time, `-c copy`, as `format` to `url`. */
async function publishConcat(format: 'mpegts' | 'flv', url: string): Promise<void> {
  // biome-ignore format: argument pairs
  await ffmpeg(['-loglevel', 'error', '-re', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-f', format, url], 30_000);
}

/** Two sessions, the first ended by the change after a segment end, the second by the encoder; each decodes. */
async function expectTwoSessions(
  worker: FakeWorker,
  encoderEnd: string,
  renditions: string[],
  tailCut: boolean,
): Promise<void> {
  await waitFor(
    'both sessions to end',
    () => worker.sessions.length === 2 && worker.sessions[1]!.ended !== undefined,
  );
  expect(worker.sessions).toEqual([
    { id: 'se_1', streamKey: 'good-key', ended: 'codec configuration changed' },
    { id: 'se_2', streamKey: 'good-key', ended: encoderEnd }, // the encoder's own close: nothing fatal
  ]);
  const init = (session: string, rendition: string) =>
    worker.inits.find((r) => r.path.includes(`/sessions/${session}/renditions/${rendition}/`))?.headers;
  expect(init('se_1', 'source')?.[InitHeaders.resolution]).toBe('320x180');
  expect(init('se_2', 'source')?.[InitHeaders.resolution]).toBe('480x270');
  for (const rung of renditions) {
    // A ladder per session, decided on that session's source (health), and rung inits at the rung's size. A
    // rung starts at a segment start once ffmpeg is in time, so on a loaded box a 2 s session may end first.
    for (const session of ['se_1', 'se_2']) {
      const health = worker.requests.filter((r) => r.path.endsWith(`/sessions/${session}/health`));
      const ladders = health.map((r) => (JSON.parse(r.body.toString()) as SessionHealthReport).ladder);
      expect(ladders.at(-1)).toMatchObject({
        state: 'active',
        rungs: [{ id: rung, width: 256, height: 144 }],
      });
    }
    const sizes = ['se_1', 'se_2'].flatMap((s) => init(s, rung)?.[InitHeaders.resolution] ?? []);
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.every((size) => size === '256x144')).toBe(true);
  }
  const firstParts = worker.requests.filter(
    (r) => r.method === 'PUT' && r.path.includes('/se_1/renditions/source/parts/'),
  );
  expect(firstParts.at(-1)?.headers['ingest-segment-end']).toBe('?1');
  // Each session's pictures are its clip's, decoded bit for bit the same (ffmpeg's frame hashes). Over SRT the
  // encoder's close may cut the stream's tail (libsrt's live mode does not linger): the last frame that arrived
  // may be partial (`tailCut`).
  for (const [session, clip] of [
    ['se_1', '320x180'],
    ['se_2', '480x270'],
  ] as const) {
    const got = await frameHashes(await renditionFile(worker, session, 'source'));
    const want = await frameHashes(join(dir, `${clip}.ts`));
    if (session === 'se_2' && tailCut) {
      expect(got.length).toBeGreaterThanOrEqual(want.length - 2); // the last frame cut, and the one before
      expect(got.slice(0, -1), session).toEqual(want.slice(0, got.length - 1));
    } else expect(got, session).toEqual(want);
  }
}

/** ffmpeg's hash of every decoded video frame of `file` (`-f framemd5`), with its size. */
async function frameHashes(file: string): Promise<string[]> {
  // biome-ignore format: argument pairs
  const { stdout } = await promisify(execFile)('ffmpeg', [
    '-v', 'error', '-nostdin', '-i', file, '-map', '0:v', '-f', 'framemd5', '-',
  ], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(',').slice(-2).join(',').trim());
}

describe('a resolution change mid-event', () => {
  it('over SRT: two sessions, two inits at the two sizes, a new ladder, nothing fatal', async () => {
    const worker = new FakeWorker();
    const server = await startSrtServer({ host: '127.0.0.1', port: 0, hub: await relayTo(worker, true) });
    try {
      await publishConcat('mpegts', `srt://127.0.0.1:${server.port}?streamid=good-key&latency=120000`);
      await expectTwoSessions(worker, 'peer shutdown', ['144p'], true);
    } finally {
      await server.close();
      await worker.stop();
    }
  }, 40_000);

  it('over RTMP, the new SPS in-band without a new sequence header: the same', async () => {
    const worker = new FakeWorker();
    const server = await startRtmpServer({ host: '127.0.0.1', port: 0, hub: await relayTo(worker, false) });
    try {
      await publishConcat('flv', `${server.url}/good-key`);
      await expectTwoSessions(worker, 'encoder disconnected', [], false);
    } finally {
      await server.close();
      await worker.stop();
    }
  }, 40_000);
});
