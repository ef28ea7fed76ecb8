/**
 * Makes the fuzz seed corpus in test/fixtures/fuzz/ from real ffmpeg output (Debian's ffmpeg, libx264, aac,
 * libsrt), small enough to commit (about 100 KB in all):
 *
 * - `clip.flv`, `clip.ts`: 1 s of testsrc2 160x120 at 15 fps (H.264 High, 2 B-frames, a keyframe every 5
 *   frames) and a sine (AAC-LC 22.05 kHz mono), as FLV and as MPEG-TS.
 * - `rtmp-publish.bin`: every byte ffmpeg's RTMP client sent (C0+C1, C2, then the chunk stream: connect,
 *   releaseStream, FCPublish, createStream, publish, @setDataFrame, sequence headers, frames) publishing
 *   clip.flv to an ffmpeg RTMP listener (`-listen 1`), recorded by a TCP proxy between the two.
 * - `srt-session.bin`: every datagram between an ffmpeg SRT caller (sending clip.ts, AES-128 with
 *   FUZZ_PASSPHRASE, stream id `#!::r=fuzzkey,m=publish`) and an ffmpeg SRT listener, recorded by a UDP
 *   proxy: induction, conclusion with HSREQ/KMREQ/SID, data, ACK, ACKACK, shutdown, and a NAK and retransmission (the
 *   proxy loses the fifth data packet once). Records are
 *   [direction u8 (0 caller to listener, 1 back)][length u16 BE][datagram].
 *
 * Run from the repo root: node_modules/.bin/node test/fuzz/make-seeds.ts
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FUZZ_PASSPHRASE, FUZZ_STREAM_KEY, fixturesDir } from './seeds.ts';

const outDir = fixturesDir;
mkdirSync(outDir, { recursive: true });

function encode(format: 'flv' | 'mpegts', file: string): void {
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15', '-f', 'lavfi', '-i', 'sine=sample_rate=22050'],
    ...['-t', '1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-profile:v', 'high', '-preset', 'veryfast'],
    ...['-g', '5', '-bf', '2', '-b:v', '60k', '-c:a', 'aac', '-ac', '1', '-b:a', '24k'],
    ...['-f', format, join(outDir, file)],
  ]);
}

function ffmpeg(args: string[]): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, done };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function captureRtmp(): Promise<Uint8Array> {
  const upstream = await freePort();
  const listener = ffmpeg([
    ...['-listen', '1', '-i', `rtmp://127.0.0.1:${upstream}/live/${FUZZ_STREAM_KEY}`],
    ...['-c', 'copy', '-f', 'null', '-'],
  ]);
  const sent: Buffer[] = [];
  const proxy = net.createServer((client) => {
    const server = net.connect(upstream, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      sent.push(Buffer.from(d));
      server.write(d);
    });
    server.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => server.end());
    server.on('close', () => client.end());
    client.on('error', () => {});
    server.on('error', () => {});
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const { port } = proxy.address() as net.AddressInfo;
  await sleep(500); // the listener binds its port
  const publisher = ffmpeg([
    ...['-i', join(outDir, 'clip.flv'), '-c', 'copy', '-f', 'flv'],
    `rtmp://127.0.0.1:${port}/live/${FUZZ_STREAM_KEY}`,
  ]);
  await publisher.done;
  await listener.done;
  proxy.close();
  return Buffer.concat(sent);
}

async function captureSrt(): Promise<Uint8Array> {
  const upstream = await freePort();
  const options = `passphrase=${FUZZ_PASSPHRASE}&pbkeylen=16&latency=120000`;
  const listener = ffmpeg([
    ...['-i', `srt://127.0.0.1:${upstream}?mode=listener&${options}`],
    ...['-c', 'copy', '-f', 'null', '-'],
  ]);
  const records: Buffer[] = [];
  const record = (direction: number, d: Buffer) => {
    const head = Buffer.alloc(3);
    head[0] = direction;
    head.writeUInt16BE(d.byteLength, 1);
    records.push(head, Buffer.from(d));
  };
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let caller: dgram.RemoteInfo | undefined;
  let dataPackets = 0;
  front.on('message', (d, rinfo) => {
    caller = rinfo;
    record(0, d);
    // Lose the fifth data packet once, so the capture has a NAK and a retransmission too.
    if (((d[0] ?? 0) & 0x80) === 0 && ++dataPackets === 5) return;
    back.send(d, upstream, '127.0.0.1');
  });
  back.on('message', (d) => {
    record(1, d);
    if (caller) front.send(d, caller.port, caller.address);
  });
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => back.bind(0, '127.0.0.1', () => resolve()));
  await sleep(500);
  const streamId = encodeURIComponent(`#!::r=${FUZZ_STREAM_KEY},m=publish`);
  const publisher = ffmpeg([
    ...['-re', '-i', join(outDir, 'clip.ts'), '-c', 'copy', '-f', 'mpegts'],
    `srt://127.0.0.1:${front.address().port}?${options}&streamid=${streamId}`,
  ]);
  await publisher.done;
  await Promise.race([listener.done, sleep(3000)]);
  listener.child.kill('SIGTERM');
  front.close();
  back.close();
  return Buffer.concat(records);
}

encode('flv', 'clip.flv');
encode('mpegts', 'clip.ts');
writeFileSync(join(outDir, 'rtmp-publish.bin'), await captureRtmp());
writeFileSync(join(outDir, 'srt-session.bin'), await captureSrt());
console.log(`seeds written to ${outDir}`);
