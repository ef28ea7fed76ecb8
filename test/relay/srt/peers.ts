/** Real libsrt peers for the SRT tests: ffmpeg (libsrt) and srt-live-transmit, each with a hard timeout. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PeerResult {
  code: number | null;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number, feed?: () => Promise<void>) {
  return new Promise<PeerResult>((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
    // A fed peer (srt-live-transmit) keeps running at end of input: stop it once the feed is done.
    if (feed) void feed().then(() => child.kill('SIGTERM'));
  });
}

/** A short H.264 + AAC test pattern as MPEG-TS (made once per test file, not in real time). */
export async function makeTsFile(path: string, seconds: number): Promise<void> {
  const r = await run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine'],
      ...['-c:v', 'libx264', '-g', '30', '-preset', 'veryfast', '-c:a', 'aac', '-t', String(seconds)],
      ...['-f', 'mpegts', path],
    ],
    30_000,
  );
  if (r.code !== 0) throw new Error(`ffmpeg fixture failed: ${r.stderr}`);
}

/** ffmpeg encodes a live test pattern straight to `srtUrl` (libsrt caller). */
export function ffmpegToSrt(srtUrl: string, seconds: number): Promise<PeerResult> {
  return run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine'],
      ...['-c:v', 'libx264', '-g', '30', '-preset', 'veryfast', '-tune', 'zerolatency', '-c:a', 'aac'],
      ...['-t', String(seconds), '-f', 'mpegts', srtUrl],
    ],
    (seconds + 10) * 1000,
  );
}

/** A UDP port that was free a moment ago (for a peer's own listening socket). */
export async function freeUdpPort(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/**
 * srt-live-transmit relays UDP input (`udp://127.0.0.1:N`) to `srtUrl`; the test sends the file to N as
 * 1316-byte datagrams (7 TS packets, as live encoders do), paced at `bytesPerSecond`. The caller does not exit
 * at end of input, so it keeps running for up to `tailMs` or until `done()` (the last packets may still need
 * retransmitting), then is stopped with SIGTERM, which closes its socket with SHUTDOWN.
 */
export async function srtLiveTransmitFile(
  file: string,
  srtUrl: string,
  opts: {
    bytesPerSecond: number;
    tailMs: number;
    timeoutMs: number;
    /** True once the listener has accepted the caller: srt-live-transmit reads its input only after that. */
    connected: () => boolean;
    done?: () => boolean;
  },
): Promise<PeerResult> {
  const bytes = await readFile(file);
  const inputPort = await freeUdpPort();
  const chunk = 1316;
  const perTick = Math.max(1, Math.round(opts.bytesPerSecond / 100 / chunk));
  const args = ['-q', '-a:no', `udp://127.0.0.1:${inputPort}`, srtUrl];
  return run('srt-live-transmit', args, opts.timeoutMs, async () => {
    const out = dgram.createSocket('udp4');
    for (let waited = 0; waited < opts.timeoutMs && !opts.connected(); waited += 20) await sleep(20);
    await sleep(200); // the caller opens its UDP input once connected
    for (let at = 0; at < bytes.byteLength; ) {
      for (let i = 0; i < perTick && at < bytes.byteLength; i++, at += chunk) {
        out.send(bytes.subarray(at, Math.min(at + chunk, bytes.byteLength)), inputPort, '127.0.0.1');
      }
      await sleep(10);
    }
    for (let waited = 0; waited < opts.tailMs && !opts.done?.(); waited += 50) await sleep(50);
    out.close();
  });
}
