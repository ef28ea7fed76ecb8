// A recorded event end to end (issue 15): ffmpeg publishes on the primary and backup keys, the primary dies
// (failover to the backup), the backup dies too, the primary reconnects inside the window, and the event ends.
// The recording is ready within 15 s of ENDLIST, its VOD time equals the live event's to within a frame,
// ffmpeg and hls.js (in Chromium) play it with no error, and its MP4 is valid per ffprobe with that duration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type CreatedStream,
  createStream,
  type Encoder,
  launchChromium,
  parsePlaylist,
  playVodInHlsJs,
  publish,
  run,
  waitForEndlist,
  waitUntil,
} from '../support/e2e.ts';

interface Recording {
  id: string;
  status: 'recording' | 'ready';
  endedAt: string | null;
  duration: number;
  playback: { hls: string | null; mp4: string | null };
  downloads: { start: number; end: number; mp4: string }[];
}

interface BackupStream extends CreatedStream {
  ingest: CreatedStream['ingest'] & { backup?: { rtmp?: string } };
}

interface Health {
  inputs: { role: string; state: string }[];
}

const FRAME = 1 / 30;
const seconds = (text: string) =>
  (parsePlaylist(text).manifest.segments ?? []).reduce((sum, s) => sum + (s.duration ?? 0), 0);

/** A media playlist's segments by msn: URI, EXTINF, discontinuity and program-date-time. */
function byMsn(text: string) {
  const { manifest } = parsePlaylist(text);
  const first = manifest.mediaSequence ?? 0;
  return new Map(
    (manifest.segments ?? []).map((s, i) => [
      first + i,
      { uri: s.uri, duration: s.duration, discontinuity: s.discontinuity === true, pdt: s.programDateTime },
    ]),
  );
}

describe('a recorded event with a failover and a reconnect', () => {
  let browser: Browser;
  let stream: BackupStream;
  let recording: Recording;
  let liveSeconds = 0;
  let livePlaylist = '';
  const encoders: Encoder[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'edge-live-recording-'));
  const start = (url: string, secs: number) => {
    const e = publish(url, 'flv', { seconds: secs, gop: 30, size: '426x240', videoBitrate: '400k' });
    encoders.push(e);
    return e;
  };
  const inputs = async () => (await api<Health>(`/v1/streams/${stream.id}/health`)).body.inputs ?? [];

  beforeAll(async () => {
    browser = await launchChromium();
    // The reconnect window is wide enough for a slow ffmpeg start on a loaded box: the reconnect must land in it.
    stream = (await createStream({ reconnectWindow: 10, failoverTimeout: 1 })) as BackupStream;
    const backupUrl = stream.ingest.backup?.rtmp as string;
    expect(backupUrl, 'backup RTMP URL').toBeTruthy();
    const primary = start(stream.ingest.rtmp, 60);
    const backup = start(backupUrl, 60);
    await waitUntil(
      'primary active and backup standby',
      async () =>
        (await inputs())
          .map((i) => `${i.role}:${i.state}`)
          .sort()
          .join() === 'backup:standby,primary:active',
      30_000,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    await primary.kill(); // failover to the backup
    await waitUntil(
      'the backup active',
      async () => (await inputs()).some((i) => i.role === 'backup' && i.state === 'active'),
      15_000,
    );
    await new Promise((r) => setTimeout(r, 4_000));
    await backup.kill(); // the event goes on in the reconnect window
    start(stream.ingest.rtmp, 5); // the primary again, inside the reconnect window
    await waitUntil(
      'the primary back',
      async () => (await inputs()).some((i) => i.role === 'primary' && i.state === 'active'),
      15_000,
    );
    await encoders[2]?.exited;
    const mediaUrl = stream.playback.hls.replace('master.m3u8', 'source/index.m3u8');
    const ended = await waitForEndlist(mediaUrl, 40_000);
    const endlistAt = Date.now();
    livePlaylist = ended;
    liveSeconds = seconds(ended);
    expect(ended).toContain('#EXT-X-DISCONTINUITY');
    recording = await waitUntil(
      'the recording ready',
      async () => {
        const list = await api<{ recordings: Recording[] }>(`/v1/streams/${stream.id}/recordings`);
        // One event: the failover and the reconnect stayed inside it.
        expect(list.body.recordings).toHaveLength(1);
        const r = list.body.recordings[0];
        return r?.status === 'ready' ? r : null;
      },
      15_000,
    );
    expect(Date.now() - endlistAt).toBeLessThan(15_000);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(encoders.map((e) => e.kill()));
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the live event’s segments, discontinuities and program-date-times, and its duration', async () => {
    const master = await (await fetch(recording.playback.hls as string)).text();
    const variant = parsePlaylist(master).manifest.playlists?.[0]?.uri as string;
    const vodUrl = new URL(variant, recording.playback.hls as string).toString();
    const vod = await (await fetch(vodUrl)).text();
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod).toContain('#EXT-X-ENDLIST');
    expect(vod).toContain('#EXT-X-DISCONTINUITY');
    // Every segment of the event from msn 0 (the live window may have let the first ones go), and each one the
    // live playlist still lists exactly as it listed it.
    const recorded = byMsn(vod);
    expect([...recorded.keys()]).toEqual([...recorded.keys()].map((_, i) => i));
    for (const [msn, live] of byMsn(livePlaylist)) expect(recorded.get(msn), `msn ${msn}`).toEqual(live);
    expect(Math.abs(recording.duration - seconds(vod))).toBeLessThanOrEqual(FRAME);
    expect(seconds(vod)).toBeGreaterThanOrEqual(liveSeconds - FRAME);
  });

  it('plays in ffmpeg with no error', async () => {
    const decoded = await run(
      'ffmpeg',
      ['-v', 'error', '-i', recording.playback.hls as string, '-f', 'null', '-'],
      90_000,
    );
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(decoded.stderr.trim()).toBe('');
  });

  it('plays in hls.js with no fatal error, to its end', async () => {
    const result = await playVodInHlsJs(browser, recording.playback.hls as string);
    expect(result.fatal).toEqual([]);
    expect(result.ended || result.duration - result.currentTime < 0.25, JSON.stringify(result)).toBe(true);
    expect(Math.abs(result.duration - recording.duration)).toBeLessThan(0.5);
  });

  it('downloads as one MP4 that ffprobe accepts, with the recording’s duration', async () => {
    expect(recording.downloads).toHaveLength(1);
    const res = await fetch(recording.playback.mp4 as string);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(Number(res.headers.get('content-length')));
    const file = join(dir, 'recording.mp4');
    writeFileSync(file, bytes);
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      file,
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stderr.trim()).toBe('');
    expect(Math.abs(Number(probe.stdout.trim()) - recording.duration)).toBeLessThan(0.1);
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(decoded.code, decoded.stderr).toBe(0);
  });
});
