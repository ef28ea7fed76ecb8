// Real ffmpeg publishing RTMP and RTMPS to the listener on loopback, with a hub that records what arrives.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAvcC } from '../../../ingest-relay/src/codec/h264.ts';
import { type RtmpServer, startRtmpServer } from '../../../ingest-relay/src/listen/rtmp/server.ts';
import type { AccessUnit } from '../../../ingest-relay/src/media/access-unit.ts';
import { ensureDevCertificate } from '../../../scripts/dev-env.ts';
import { memoryLog, publishWithFfmpeg, type RecordedSession, RecordingHub, waitFor } from './support.ts';

function expectSaneTimeline(units: AccessUnit[], frameMs: number): void {
  for (let i = 1; i < units.length; i++) {
    const step = units[i]!.dts - units[i - 1]!.dts;
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThanOrEqual(frameMs * 2);
  }
  for (const u of units) expect(u.pts).toBeGreaterThanOrEqual(u.dts);
}

function checkPublish(session: RecordedSession): void {
  const configs = session.configs();
  const video = configs.find((c) => c.kind === 'video');
  const audio = configs.find((c) => c.kind === 'audio');
  if (video?.kind !== 'video' || audio?.kind !== 'audio') throw new Error('missing track configs');
  expect(parseAvcC(video.avcC).ok).toBe(true);
  expect(video).toMatchObject({ codec: 'h264', timescale: 1000, width: 320, height: 240 });
  expect(video.codecString).toMatch(/^avc1\.[0-9a-f]{6}$/);
  expect(audio).toMatchObject({ codec: 'aac', timescale: 1000, sampleRate: 48000, codecString: 'mp4a.40.2' });
  expect(Array.from(audio.audioSpecificConfig.subarray(0, 1))).toEqual([0x11]); // AAC LC (2), 48 kHz (3)

  const videoUnits = session.units('video');
  const audioUnits = session.units('audio');
  // 3 s at 30 fps and 48000/1024 frames a second; allow for encoder start-up.
  expect(videoUnits.length).toBeGreaterThanOrEqual(80);
  expect(audioUnits.length).toBeGreaterThanOrEqual(120);
  expectSaneTimeline(videoUnits, 34);
  expectSaneTimeline(audioUnits, 22);
  // -g 30 at 30 fps: an IDR every second, the first unit among them.
  const keyTimes = videoUnits.filter((u) => u.keyframe).map((u) => u.dts);
  expect(videoUnits[0]!.keyframe).toBe(true);
  expect(keyTimes.length).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < keyTimes.length; i++) expect(keyTimes[i]! - keyTimes[i - 1]!).toBeCloseTo(1000, -2);
  // AVCC samples with 4-byte lengths that cover the whole payload.
  const first = videoUnits[0]!.data;
  const view = new DataView(first.buffer, first.byteOffset, first.byteLength);
  let at = 0;
  while (at < first.byteLength) at += 4 + view.getUint32(at);
  expect(at).toBe(first.byteLength);
  // Configs precede units of their track.
  const firstUnit = session.events.findIndex((e) => e.type === 'unit');
  expect(session.events.slice(0, firstUnit).every((e) => e.type === 'config')).toBe(true);
}

describe('RTMP listener with ffmpeg', () => {
  const hub = new RecordingHub();
  const logs = memoryLog();
  let server: RtmpServer;

  beforeAll(async () => {
    hub.refusals.set('nope', 'unknown-key');
    hub.refusals.set('busy', 'already-live');
    server = await startRtmpServer({ hub, host: '127.0.0.1', port: 0, log: logs.log });
  });
  afterAll(() => server.close());

  it('takes a publish: key from the publish name, track configs, timed units, end on disconnect', async () => {
    const run = await publishWithFfmpeg(`${server.url}/key-123?token=ignored`);
    expect(run.code, run.stderr).toBe(0);
    const session = hub.session('key-123');
    expect(session?.request.protocol).toBe('rtmp');
    expect(session?.request.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    await waitFor('end', () => session?.endReason !== undefined);
    expect(session?.endReason).toBe('encoder disconnected');
    checkPublish(session!);
    expect(logs.lines().some((l) => l.msg === 'RTMP stream metadata')).toBe(true);
    // A clean unpublish is not a connection error.
    expect(logs.lines().filter((l) => l.code !== undefined)).toEqual([]);
  }, 30_000);

  it('refuses an unknown key: ffmpeg fails and the server logs why', async () => {
    const run = await publishWithFfmpeg(`${server.url}/nope`, { seconds: 1 });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/unknown stream key/);
    const line = logs.lines().find((l) => l.code === 'refused-unknown-key');
    expect(line?.reason).toMatch(/publish refused \(unknown-key\)/);
    expect(hub.session('nope')).toBeUndefined();
  }, 30_000);

  it('refuses a second publish of a live stream with a reason', async () => {
    const run = await publishWithFfmpeg(`${server.url}/busy`, { seconds: 1 });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/already being published/);
    expect(logs.lines().some((l) => l.code === 'refused-already-live')).toBe(true);
  }, 30_000);
});

describe('RTMPS listener with ffmpeg', () => {
  // The same pure-JS certificate maker `npm start` uses (no openssl binary needed, so the test never skips).
  let tls: { cert: Buffer; key: Buffer };
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtmps-test-'));
    try {
      const files = await ensureDevCertificate(dir);
      tls = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes a publish over TLS with a self-signed certificate', async () => {
    const hub = new RecordingHub();
    const server = await startRtmpServer({ hub, host: '127.0.0.1', port: 0, tls, log: memoryLog().log });
    try {
      expect(server.url).toMatch(/^rtmps:\/\/127\.0\.0\.1:\d+\/live$/);
      const run = await publishWithFfmpeg(`${server.url}/secure-key`);
      expect(run.code, run.stderr).toBe(0);
      const session = hub.session('secure-key');
      expect(session?.request.protocol).toBe('rtmps');
      await waitFor('end', () => session?.endReason !== undefined);
      checkPublish(session!);
    } finally {
      await server.close();
    }
  }, 30_000);
});
