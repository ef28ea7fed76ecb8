// SRT end to end with real libsrt callers: ffmpeg and srt-live-transmit publish MPEG-TS over SRT, encrypted,
// through a UDP relay that drops packets at random; the relay's SRT listener repairs the loss, and the stream
// plays in hls.js (Chromium) and decodes in ffmpeg. "No lost frames": the relay reports zero too-late drops.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type CreatedStream,
  createStream,
  decodeHls,
  launchChromium,
  publish,
  stackInfo,
  waitUntil,
} from '../support/e2e.ts';
import { type LossyProxy, startLossyProxy } from '../support/lossy-udp-proxy.ts';
import { openPlayer } from '../support/player.ts';

interface Health {
  relay: {
    report: {
      srt?: { packetsLost: number; packetsRetransmitted: number; packetsDropped: number; rttMs: number };
    };
  } | null;
}

const srtPort = () => Number(new URL(stackInfo().srtUrl.replace('srt://', 'http://')).port);
const mediaUrl = (s: CreatedStream) => s.playback.hls.replace('master.m3u8', 'source/index.m3u8');

async function waitForSegments(stream: CreatedStream, count: number) {
  await waitUntil(
    `${count} complete segments`,
    async () => {
      const res = await fetch(mediaUrl(stream));
      const text = res.ok ? await res.text() : '';
      return text.includes('#EXT-X-PART:') && (text.match(/#EXTINF:/g) ?? []).length >= count;
    },
    40_000,
  );
}

async function playsInHlsJs(stream: CreatedStream) {
  const browser = await launchChromium();
  try {
    const page = await openPlayer(browser, stream);
    const t0 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
    await page.waitForTimeout(4000);
    const t1 = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
    const errors = await page.evaluate(() =>
      JSON.stringify(
        (window as unknown as { __player: { stats: { errors: unknown[] } } }).__player.stats.errors,
      ),
    );
    const fatal = (JSON.parse(errors) as { fatal: boolean }[]).filter((e) => e.fatal).length;
    return { advanced: t1 - t0, fatal, errors: `player errors: ${errors.slice(0, 400)}` };
  } finally {
    await browser.close();
  }
}

describe('ffmpeg over SRT, AES-256, 10 % loss each way, 200 ms latency', () => {
  let stream: CreatedStream;
  let proxy: LossyProxy;
  let encoder: ReturnType<typeof publish>;
  const passphrase = 'correct-horse-battery-staple'; // libsrt callers do not URL-decode the query

  beforeAll(async () => {
    stream = await createStream({ name: 'e2e srt ffmpeg', srtPassphrase: passphrase, reconnectWindow: 2 });
    proxy = await startLossyProxy({
      target: { host: '127.0.0.1', port: srtPort() },
      loss: 0.1,
      seed: 7,
      lifetimeMs: 100_000,
    });
    const url = `srt://127.0.0.1:${proxy.port}?streamid=${stream.streamKey}&passphrase=${passphrase}&pbkeylen=32&latency=200000`;
    encoder = publish(url, 'mpegts', { seconds: 45, size: '640x360' });
    await waitForSegments(stream, 3);
  });

  afterAll(async () => {
    await encoder?.kill();
    await proxy?.close();
  });

  it('plays in hls.js with no fatal error', async () => {
    const { advanced, fatal, errors } = await playsInHlsJs(stream);
    expect(fatal, errors).toBe(0);
    expect(advanced, errors).toBeGreaterThan(2.5);
  });

  it('decodes without errors in ffmpeg', async () => {
    const res = await decodeHls(stream.playback.hls);
    expect(res.stderr.trim()).toBe('');
    expect(res.code).toBe(0);
  });

  it('repaired every loss: packets were lost and retransmitted, none dropped', async () => {
    expect(proxy.stats.dropped).toBeGreaterThan(50);
    const health = await waitUntil('SRT stats in health', async () => {
      const res = await api<Health>(`/v1/streams/${stream.id}/health`);
      const srt = res.body.relay?.report.srt;
      return srt && srt.packetsLost > 0 ? srt : null;
    });
    expect(health.packetsRetransmitted).toBeGreaterThan(0);
    expect(health.packetsDropped, JSON.stringify(health)).toBe(0);
  });
});

// 200 ms here: in this suite the live encoder, Chromium, workerd and the relay share two cores, and a relay
// event loop starved for ~100 ms can miss a 120 ms deadline. 120 ms against libsrt peers is covered without
// that load by test/relay/srt (5 % and 10 % loss) and bench/srt-loss.ts (parity with libsrt's receiver).
describe('srt-live-transmit as the caller, AES-128, 5 % loss each way, 200 ms latency', () => {
  let stream: CreatedStream;
  let proxy: LossyProxy;
  let encoder: ReturnType<typeof publish>;
  let slt: ChildProcess;
  const passphrase = 'another-long-passphrase';

  beforeAll(async () => {
    stream = await createStream({
      name: 'e2e srt-live-transmit',
      srtPassphrase: passphrase,
      reconnectWindow: 2,
    });
    proxy = await startLossyProxy({
      target: { host: '127.0.0.1', port: srtPort() },
      loss: 0.05,
      seed: 11,
      lifetimeMs: 100_000,
    });
    const udpIn = 20_000 + Math.floor(Math.random() * 20_000);
    slt = spawn(
      'srt-live-transmit',
      [
        '-q',
        '-a:no',
        `udp://127.0.0.1:${udpIn}`,
        `srt://127.0.0.1:${proxy.port}?streamid=${stream.streamKey}&passphrase=${passphrase}&pbkeylen=16&latency=200`,
      ],
      { stdio: 'ignore' },
    );
    // A live encoder feeding srt-live-transmit over UDP, as in a venue: 1316-byte datagrams (7 TS packets).
    encoder = publish(`udp://127.0.0.1:${udpIn}?pkt_size=1316`, 'mpegts', { seconds: 45, size: '640x360' });
    await waitForSegments(stream, 3);
  });

  afterAll(async () => {
    await encoder?.kill();
    slt?.kill('SIGTERM');
    await proxy?.close();
  });

  it('plays in hls.js with no fatal error', async () => {
    const { advanced, fatal, errors } = await playsInHlsJs(stream);
    expect(fatal, errors).toBe(0);
    expect(advanced, errors).toBeGreaterThan(2.5);
  });

  it('repaired every loss', async () => {
    const health = await waitUntil('SRT stats in health', async () => {
      const res = await api<Health>(`/v1/streams/${stream.id}/health`);
      const srt = res.body.relay?.report.srt;
      return srt && srt.packetsLost > 0 ? srt : null;
    });
    expect(health.packetsDropped, JSON.stringify(health)).toBe(0);
  });
});
