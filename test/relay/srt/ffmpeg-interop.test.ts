/**
 * Interop with a real libsrt caller: ffmpeg encodes a live test pattern to our listener. Covers both stream id
 * forms, AES-128/192/256 with the passphrase from the hub, and the refusals a caller must see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SrtServer, startSrtServer } from '../../../ingest-relay/src/listen/srt/server.ts';
import type { AccessUnit, DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { registry } from '../../../ingest-relay/src/metrics.ts';
import { ffmpegToSrt } from './peers.ts';
import { RecordingHub } from './recording-hub.ts';

const PASS = 'correct-horse-battery';
let hub: RecordingHub;
let server: SrtServer;

beforeAll(async () => {
  hub = new RecordingHub({
    plain: null,
    acform: null,
    enc16: PASS,
    enc24: PASS,
    enc32: PASS,
    wrongpass: PASS,
  });
  server = await startSrtServer({ host: '127.0.0.1', port: 0, hub, latencyMs: 120 });
});
afterAll(async () => {
  await server.close();
});

const url = (query: string) => `srt://127.0.0.1:${server.port}?latency=120000&${query}`;
const units = (events: DemuxEvent[], kind: 'video' | 'audio'): AccessUnit[] =>
  events.flatMap((e) => (e.type === 'unit' && e.unit.kind === kind ? [e.unit] : []));

function expectGoodStream(key: string) {
  const session = hub.sessions.find((s) => s.streamKey === key);
  expect(session?.ended).toBeDefined();
  const events = session?.events ?? [];
  const configs = events.flatMap((e) => (e.type === 'config' ? [e.track] : []));
  expect(configs.map((c) => c.kind).sort()).toEqual(['audio', 'video']);
  expect(configs.find((c) => c.kind === 'video')).toMatchObject({
    width: 320,
    height: 240,
    timescale: 90000,
  });
  expect(configs.find((c) => c.kind === 'audio')).toMatchObject({
    codecString: 'mp4a.40.2',
    timescale: 90000,
  });
  const video = units(events, 'video');
  const audio = units(events, 'audio');
  expect(video.length).toBeGreaterThanOrEqual(55); // 2 s at 30 fps
  expect(audio.length).toBeGreaterThanOrEqual(80); // 2 s of 1024-sample frames at 44.1/48 kHz
  expect(video[0]?.keyframe).toBe(true);
  const keyDts = video.filter((u) => u.keyframe).map((u) => u.dts);
  for (let i = 1; i < keyDts.length; i++) expect((keyDts[i] ?? 0) - (keyDts[i - 1] ?? 0)).toBe(90000); // -g 30 @ 30 fps
  for (const list of [video, audio]) {
    for (let i = 1; i < list.length; i++) expect(list[i]?.dts ?? 0).toBeGreaterThan(list[i - 1]?.dts ?? 0);
    for (const u of list) expect(u.pts).toBeGreaterThanOrEqual(u.dts);
  }
}

describe('SRT listener with ffmpeg (libsrt) as the caller', () => {
  it('accepts streamid=KEY and feeds config + access units', async () => {
    const r = await ffmpegToSrt(url('streamid=plain'), 2);
    expect(r.code, r.stderr).toBe(0);
    expectGoodStream('plain');
    const metrics = await registry.getSingleMetricAsString('relay_srt_packets_total');
    expect(metrics).toMatch(/relay_srt_packets_total\{stream_id="st_plain",outcome="received"\} [1-9]/);
  }, 20_000);

  it('accepts the #!::r=KEY,m=publish form', async () => {
    const r = await ffmpegToSrt(url('streamid=#!::m=publish,r=acform'), 2);
    expect(r.code, r.stderr).toBe(0);
    expectGoodStream('acform');
  }, 20_000);

  it.each([16, 24, 32])(
    'decrypts AES-CTR with pbkeylen=%i',
    async (len) => {
      const r = await ffmpegToSrt(url(`streamid=enc${len}&passphrase=${PASS}&pbkeylen=${len}`), 2);
      expect(r.code, r.stderr).toBe(0);
      expectGoodStream(`enc${len}`);
    },
    20_000,
  );

  it('refuses a wrong passphrase, a missing one and an unknown key; the caller fails to connect', async () => {
    const before = server.counters().rejections;
    const wrong = await ffmpegToSrt(url('streamid=wrongpass&passphrase=not-the-passphrase&pbkeylen=16'), 1);
    const none = await ffmpegToSrt(url('streamid=wrongpass'), 1);
    const unknown = await ffmpegToSrt(url('streamid=nosuchkey'), 1);
    for (const r of [wrong, none, unknown]) expect(r.code).not.toBe(0);
    expect(server.counters().rejections - before).toBe(3);
    expect(hub.sessions.some((s) => s.streamKey === 'wrongpass' || s.streamKey === 'nosuchkey')).toBe(false);
  }, 30_000);
});
