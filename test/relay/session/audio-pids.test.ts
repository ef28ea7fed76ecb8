/**
 * Several audio PIDs over SRT (issue 12, ingest rules): ffmpeg (libsrt) publishes MPEG-TS with two AAC streams
 * to the relay's SRT listener; the real session uploads to a Worker stand-in. One audio track goes out (the
 * first PID's), and every health report from then on names the PID left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SrtServer, startSrtServer } from '../../../ingest-relay/src/listen/srt/server.ts';
import { createIngestHub } from '../../../ingest-relay/src/session.ts';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import { InitHeaders } from '../../../src/contract/ingest.ts';
import { ffmpeg } from '../../support/ffmpeg.ts';
import { waitFor } from '../rtmp/support.ts';
import { FakeWorker } from '../upload/fake-worker.ts';

let worker: FakeWorker;
let server: SrtServer;

beforeAll(async () => {
  worker = new FakeWorker();
  const workerUrl = await worker.start();
  const hub = createIngestHub({
    workerUrl,
    ingestToken: 'test-ingest-token',
    relayId: 'r1',
    healthIntervalMs: 250,
  });
  server = await startSrtServer({ host: '127.0.0.1', port: 0, hub, latencyMs: 120 });
});
afterAll(async () => {
  await server.close();
  await worker.stop();
});

describe('an SRT input with two audio PIDs', () => {
  it('publishes the first and reports the second in ignoredAudioPids', async () => {
    // biome-ignore format: argument pairs
    await ffmpeg([
      '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=44100',
      '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency',
      '-g', '30', '-c:a', 'aac', '-t', '2', '-f', 'mpegts', '-mpegts_start_pid', '0x100',
      `srt://127.0.0.1:${server.port}?streamid=good-key&latency=120000`,
    ], 20_000);
    await waitFor('the session to end', () => worker.ended !== undefined);
    expect(worker.ended).toEqual({ reason: 'peer shutdown' }); // libsrt's clean close
    const source = worker.inits.find((r) => r.path.includes('/renditions/source/'));
    expect(source?.headers[InitHeaders.codecs]).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const reports = worker.health as SessionHealthReport[];
    expect(reports.length).toBeGreaterThanOrEqual(2);
    // ffmpeg numbers the streams' PIDs from -mpegts_start_pid in map order: video 0x100, audio 0x101, 0x102.
    expect(reports.at(-1)).toMatchObject({
      protocol: 'srt',
      ignoredAudioPids: [0x102],
      audio: { codec: 'mp4a.40.2' },
    });
    expect(worker.stored.size).toBeGreaterThan(4);
  }, 30_000);
});
