// Helpers for end-to-end tests: the REST API of the running stack, real encoders (ffmpeg), a real player
// (hls.js in Debian's Chromium through playwright-core).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Parser } from 'm3u8-parser';
import type { Browser, Page } from 'playwright-core';
import { inject } from 'vitest';
import { testPatternArgs } from '../../scripts/peers.ts';
import { freePort } from '../../scripts/stack.ts';

export { launchChromium } from '../../scripts/peers.ts';

export function stackInfo() {
  return inject('stack');
}

export interface CreatedStream {
  id: string;
  name: string;
  streamKey: string;
  status: string;
  config: { partTarget: number; segmentTarget: number; reconnectWindow: number };
  ingest: { rtmp: string; rtmps?: string; srt: string };
  playback: { hls: string; player: string };
}

export async function api<T = unknown>(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const { workerUrl, apiToken } = stackInfo();
  const res = await fetch(`${workerUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * A stream for an e2e test: passed through (`ladder: "passthrough"`) unless the test asks for a ladder, so the
 * encoder is the only x264 on these 2 cores except in the ladder's own tests (issue 12).
 */
export async function createStream(body: Record<string, unknown> = {}): Promise<CreatedStream> {
  const res = await api<CreatedStream>('/v1/streams', {
    method: 'POST',
    body: JSON.stringify({ ladder: 'passthrough', ...body }),
  });
  if (res.status !== 201) throw new Error(`create stream: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface EncoderOptions {
  /** Seconds of test pattern to send (ffmpeg -t). */
  seconds: number;
  /** Keyframe interval in frames at 30 fps (default 30: one per second). */
  gop?: number;
  videoBitrate?: string;
  size?: string;
  /** Extra ffmpeg output options placed before the URL. */
  extra?: string[];
}

/** ffmpeg publishing a live test pattern (H.264 + AAC) in real time to `url`. */
export function publish(url: string, format: 'flv' | 'mpegts', opts: EncoderOptions): Encoder {
  const args = testPatternArgs({ url, format, ...opts, audioBitrate: '128k' });
  return new Encoder(spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
}

export class Encoder {
  readonly process: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(child: ChildProcess) {
    this.process = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.process.kill(signal);
    return this.exited;
  }
}

/** Runs a command to completion, collecting stderr. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** ffmpeg reads `hlsUrl` back and decodes `seconds` of it: its exit code and error output. */
export function decodeHls(hlsUrl: string, seconds = 6) {
  return run('ffmpeg', ['-v', 'error', '-i', hlsUrl, '-t', String(seconds), '-f', 'null', '-'], 60_000);
}

/** Polls the media playlist at `mediaUrl` until it carries EXT-X-ENDLIST; returns that playlist. */
export function waitForEndlist(mediaUrl: string, timeoutMs = 40_000): Promise<string> {
  return waitUntil(
    'EXT-X-ENDLIST',
    async () => {
      const t = await (await fetch(mediaUrl)).text();
      return t.includes('#EXT-X-ENDLIST') ? t : null;
    },
    timeoutMs,
  );
}

/** A relay process of its own (a second venue uplink), beside the stack's relay. */
export interface ExtraRelay {
  rtmpBase: string;
  metricsUrl: string;
  process: ChildProcess;
  /** Its stdout and stderr so far. */
  log(): string;
  /** SIGKILL: the process dies without telling the Worker anything. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts another relay on free ports that uploads to `workerUrl` (the stack's Worker, or a proxy in front),
 * with the stack's shared INGEST_TOKEN unless given its own credential (`ingestToken`, from POST /v1/relays);
 * `env` adds to or overrides its environment (e.g. `LADDER_MAX_INPUTS`).
 */
export async function startExtraRelay(
  workerUrl: string,
  relayId: string,
  opts: { ingestToken?: string; env?: Record<string, string> } = {},
): Promise<ExtraRelay> {
  const root = join(import.meta.dirname, '..', '..');
  const ports = {
    rtmp: await freePort(),
    rtmps: await freePort(),
    srt: await freePort(),
    metrics: await freePort(),
  };
  const child = spawn(process.execPath, [join(root, 'ingest-relay', 'src', 'main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WORKER_URL: workerUrl,
      INGEST_TOKEN: opts.ingestToken ?? stackInfo().ingestToken,
      HOST: '127.0.0.1',
      RTMP_PORT: String(ports.rtmp),
      RTMPS_PORT: String(ports.rtmps),
      SRT_PORT: String(ports.srt),
      METRICS_PORT: String(ports.metrics),
      RELAY_ID: relayId,
      LOG_LEVEL: 'info',
      ...opts.env,
    },
  });
  let log = '';
  for (const s of [child.stdout, child.stderr]) {
    s?.setEncoding('utf8').on('data', (d: string) => {
      log += d;
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  const metricsUrl = `http://127.0.0.1:${ports.metrics}`;
  await waitUntil(`relay ${relayId}`, async () => (await fetch(`${metricsUrl}/healthz`)).ok, 30_000);
  return {
    rtmpBase: `rtmp://127.0.0.1:${ports.rtmp}/live`,
    metricsUrl,
    process: child,
    log: () => log,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}

/** m3u8-parser, the playlist oracle of the e2e tests: the manifest and every warning it raised. */
export function parsePlaylist(text: string) {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w: { message: string }) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

export interface VodPlayback {
  ended: boolean;
  currentTime: number;
  duration: number;
  fatal: string[];
}

/**
 * Plays a VOD playlist in hls.js (the stack's vendored build, in a blank page of the Worker's origin) at 4x,
 * to its end or a fatal error: ended, or stopped within a few frames of the end (MSE ends at the buffered end,
 * which the playlist's last EXTINF may pass by the last frame's duration).
 */
export async function playVodInHlsJs(
  browser: Browser,
  src: string,
  timeoutMs = 40_000,
): Promise<VodPlayback> {
  const page = await browser.newPage();
  try {
    await page.goto(`${stackInfo().workerUrl}/healthz`);
    await page.addScriptTag({ url: '/vendor/hls.min.js' });
    return await page.evaluate(
      async ({ src, timeoutMs }) => {
        const video = document.createElement('video');
        video.muted = true;
        document.body.append(video);
        const Hls = (
          window as unknown as {
            Hls: new () => {
              loadSource(u: string): void;
              attachMedia(v: HTMLVideoElement): void;
              on(e: string, f: (e: string, d: { fatal: boolean; details: string }) => void): void;
            };
          }
        ).Hls;
        const hls = new Hls();
        const fatal: string[] = [];
        hls.on('hlsError', (_e, d) => {
          if (d.fatal) fatal.push(d.details);
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        video.playbackRate = 4;
        await video.play().catch(() => undefined);
        const deadline = Date.now() + timeoutMs;
        let last = -1;
        let still = 0;
        while (!video.ended && fatal.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          still = video.currentTime === last ? still + 1 : 0;
          last = video.currentTime;
          if (still >= 8 && video.duration - video.currentTime < 0.25) break;
        }
        return { ended: video.ended, currentTime: video.currentTime, duration: video.duration, fatal };
      },
      { src, timeoutMs },
    );
  } finally {
    await page.close();
  }
}

/** Signs `page` in to the dashboard with the admin key and selects the stream. */
export async function dashboardFor(page: Page, streamId: string): Promise<void> {
  await page.goto(`${stackInfo().workerUrl}/dashboard`);
  await page.fill('#token', stackInfo().apiToken);
  await page.click('#login button[type=submit]');
  await page.click(`#streams li[data-id="${streamId}"]`);
}
