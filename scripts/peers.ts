// The real peers the demo, the end-to-end tests and the benchmarks drive: ffmpeg publishing a live test
// pattern, and Debian's Chromium (never a downloaded browser).
import { type Browser, chromium } from 'playwright-core';

export interface TestPatternOptions {
  /** Where to publish: an rtmp://, rtmps://, srt:// or udp:// URL. */
  url: string;
  format: 'flv' | 'mpegts';
  /** Video size, default 640x360 (at 30 fps). */
  size?: string;
  /** Seconds to send (`-t`); absent: until stopped. */
  seconds?: number;
  /** Keyframe interval in frames, default 30 (one a second). */
  gop?: number;
  /** x264 bitrate, default 800k. */
  videoBitrate?: string;
  /** AAC track from a 440 Hz tone, default true. */
  audio?: boolean;
  /** AAC bitrate; absent: ffmpeg's default. */
  audioBitrate?: string;
  /** ffmpeg -loglevel, default warning. */
  logLevel?: 'error' | 'warning';
  /** Extra output options, placed before `-f`. */
  extra?: string[];
}

/**
 * ffmpeg arguments for a real-time (`-re`) test pattern, testsrc2 + a tone, as H.264 (veryfast, zerolatency)
 * and AAC: the encoder settings the seed article recommends for live contribution.
 */
export function testPatternArgs(o: TestPatternOptions): string[] {
  const audio = o.audio ?? true;
  return [
    ...['-hide_banner', '-loglevel', o.logLevel ?? 'warning', '-re'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '640x360'}:rate=30`],
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    ...(o.seconds === undefined ? [] : ['-t', String(o.seconds)]),
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
    ...['-g', String(o.gop ?? 30), '-b:v', o.videoBitrate ?? '800k'],
    ...(audio ? ['-c:a', 'aac', ...(o.audioBitrate ? ['-b:a', o.audioBitrate] : [])] : []),
    ...(o.extra ?? []),
    ...['-f', o.format, o.url],
  ];
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
