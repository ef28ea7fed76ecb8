/**
 * The MPEG-TS demuxer against ffmpeg-made streams, checked with ffprobe as the independent reader: every
 * video access unit's dts/pts/keyframe, the audio frame count and timing, chunking independence, resync after
 * garbage, continuity errors, and ignored stream types.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsDemuxer } from '../../../ingest-relay/src/demux/mpegts/demuxer.ts';
import type { AccessUnit, DemuxEvent } from '../../../ingest-relay/src/media/access-unit.ts';
import { seededRandom } from '../../support/lossy-udp-proxy.ts';

const run = promisify(execFile);
let dir: string;
let ts: Uint8Array;
let mp2: Uint8Array;
let twoAudio: Uint8Array;

async function ffmpeg(out: string, audio: string[]) {
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30'],
    ...[
      '-f',
      'lavfi',
      '-i',
      'sine=sample_rate=48000',
      '-c:v',
      'libx264',
      '-g',
      '30',
      '-bf',
      '2',
      '-preset',
      'veryfast',
    ],
    ...audio,
    ...['-t', '2', '-f', 'mpegts', out],
  ]);
}

interface ProbePacket {
  pts: number;
  dts: number;
  flags: string;
}

function probe(file: string, stream: 'v' | 'a'): Promise<ProbePacket[]> {
  return probeStream(file, stream);
}

async function probeStream(file: string, stream: string): Promise<ProbePacket[]> {
  const { stdout } = await run('ffprobe', [
    ...[
      '-v',
      'error',
      '-select_streams',
      stream,
      '-show_entries',
      'packet=pts,dts,flags',
      '-of',
      'json',
      file,
    ],
  ]);
  return (JSON.parse(stdout) as { packets: ProbePacket[] }).packets;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mpegts-'));
  await ffmpeg(join(dir, 'av.ts'), ['-c:a', 'aac']);
  await ffmpeg(join(dir, 'mp2.ts'), ['-c:a', 'mp2']);
  // A broadcast encoder's two languages: two AAC PIDs, told apart by rate and channels (48 kHz mono first).
  // biome-ignore format: argument pairs
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=44100',
    '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30',
    '-c:a', 'aac', '-ac:a:1', '2', '-t', '2', '-f', 'mpegts', join(dir, 'two-audio.ts'),
  ]);
  twoAudio = new Uint8Array(await readFile(join(dir, 'two-audio.ts')));
  ts = new Uint8Array(await readFile(join(dir, 'av.ts')));
  mp2 = new Uint8Array(await readFile(join(dir, 'mp2.ts')));
}, 30_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function demux(bytes: Uint8Array, chunk: () => number = () => bytes.byteLength) {
  const d = new TsDemuxer();
  const events: DemuxEvent[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const n = Math.max(1, chunk());
    events.push(...d.push(bytes.subarray(at, at + n), 1000));
    at += n;
  }
  events.push(...d.flush());
  return { events, stats: d.stats() };
}

const units = (events: DemuxEvent[], kind: 'video' | 'audio'): AccessUnit[] =>
  events.flatMap((e) => (e.type === 'unit' && e.unit.kind === kind ? [e.unit] : []));

describe('MPEG-TS demuxer', () => {
  it('matches ffprobe for every video access unit (dts, pts, keyframe) and every AAC frame', async () => {
    const { events, stats } = demux(ts);
    const configs = events.flatMap((e) => (e.type === 'config' ? [e.track] : []));
    expect(configs).toHaveLength(2);
    expect(configs.find((c) => c.kind === 'video')).toMatchObject({
      width: 320,
      height: 240,
      codec: 'h264',
      profile: 'High',
      frameRate: 30,
    });
    expect(configs.find((c) => c.kind === 'audio')).toMatchObject({
      sampleRate: 48000,
      channelCount: 1,
      objectType: 2,
      profile: 'LC',
    });
    const video = units(events, 'video');
    const vp = await probe(join(dir, 'av.ts'), 'v');
    expect(video.map((u) => [u.dts, u.pts, u.keyframe])).toEqual(
      vp.map((p) => [p.dts, p.pts, p.flags.startsWith('K')]),
    );
    expect(video.some((u) => u.pts > u.dts)).toBe(true); // B-frames: composition offsets survive
    const first = video[0]?.data ?? new Uint8Array(0);
    expect(new DataView(first.buffer, first.byteOffset).getUint32(0) + 4).toBeLessThanOrEqual(
      first.byteLength,
    ); // AVCC
    const audio = units(events, 'audio');
    const ap = await probe(join(dir, 'av.ts'), 'a');
    expect(audio).toHaveLength(ap.length);
    audio.forEach((u, i) => {
      expect(Math.abs(u.pts - (ap[i]?.pts ?? 0))).toBeLessThanOrEqual(1);
      expect(u.data[0]).not.toBe(0xff); // raw frames: the ADTS header is gone
    });
    expect(stats).toMatchObject({ resyncs: 0, continuityErrors: 0 });
  });

  it('gives the same events for any chunking of the input', () => {
    const whole = demux(ts).events;
    const random = seededRandom(3);
    expect(demux(ts, () => 1 + Math.floor(random() * 700)).events).toEqual(whole);
    expect(demux(ts.subarray(0, 188 * 400), () => 1).events).toEqual(demux(ts.subarray(0, 188 * 400)).events);
  });

  it('resyncs after garbage and counts a continuity error for a lost packet, without throwing', () => {
    const cut = 188 * 200;
    const garbage = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    const broken = new Uint8Array(ts.byteLength + garbage.byteLength - 188);
    broken.set(ts.subarray(0, cut), 0);
    broken.set(garbage, cut);
    broken.set(ts.subarray(cut + 188), cut + garbage.byteLength); // one TS packet lost too
    const { events, stats } = demux(broken);
    expect(stats.resyncs).toBeGreaterThan(0);
    expect(stats.continuityErrors).toBeGreaterThanOrEqual(1);
    const video = units(events, 'video');
    expect(video.length).toBeGreaterThan(units(demux(ts).events, 'video').length - 3);
    for (let i = 1; i < video.length; i++) expect(video[i]?.dts ?? 0).toBeGreaterThan(video[i - 1]?.dts ?? 0);
  });

  it('takes the first audio PID of the PMT and leaves out the second, announced once and counted', async () => {
    const { events, stats } = demux(twoAudio);
    // biome-ignore format: argument pairs
    const { stdout } = await run('ffprobe', [
      '-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=index,id,sample_rate,channels', '-of', 'json',
      join(dir, 'two-audio.ts'),
    ]);
    type Probed = { index: number; id: string; sample_rate: string; channels: number };
    const [first, second] = (JSON.parse(stdout) as { streams: Probed[] }).streams;
    expect([first?.sample_rate, first?.channels, second?.sample_rate, second?.channels]).toEqual([
      '48000',
      1,
      '44100',
      2,
    ]);
    const audioConfigs = events.flatMap((e) =>
      e.type === 'config' && e.track.kind === 'audio' ? [e.track] : [],
    );
    expect(audioConfigs).toHaveLength(1);
    expect(audioConfigs[0]).toMatchObject({ sampleRate: 48000, channelCount: 1 });
    const ignored = events.filter((e) => e.type === 'ignored-track');
    expect(ignored).toEqual([
      { type: 'ignored-track', kind: 'audio', pid: Number(second?.id), streamType: 0x0f },
    ]);
    expect(stats.ignoredAudioPids).toEqual([Number(second?.id)]);
    expect(stats.reasons['ignored-audio-pid']).toBe(1);
    // Every audio unit is the first PID's: ffprobe's packets of that stream, one for one.
    const ap = await probeStream(join(dir, 'two-audio.ts'), 'a:0');
    const audio = units(events, 'audio');
    expect(audio).toHaveLength(ap.length);
    expect(audio.every((u, i) => Math.abs(u.pts - (ap[i]?.pts ?? -9)) <= 1)).toBe(true);
  });

  it('ignores stream types it does not carry, with a counted reason', () => {
    const { events, stats } = demux(mp2);
    expect(units(events, 'audio')).toEqual([]);
    expect(units(events, 'video').length).toBeGreaterThan(50);
    expect(Object.keys(stats.reasons)).toContain('ignored-stream-type-0x3');
    expect(stats.ignoredAudioPids).toHaveLength(1); // audio, of a codec the relay does not carry
  });
});
