// The relay against hostile clients, on loopback only and bounded in count and time, while one real ffmpeg
// stream publishes through it. Attackers connect from many loopback addresses (127.0.1.x), as an attack from
// many hosts would, so that the per-IP limit does not hide the global one. Phases, one after another:
//   - idle: thousands of TCP sockets that never send a byte;
//   - garbage: sockets that finish the RTMP handshake, then send random bytes;
//   - declared: sockets that finish the handshake, then declare messages on every chunk stream they may and
//     fill each almost to its end (the most an unauthenticated peer may make the relay hold), and others that
//     declare 16 MiB messages;
//   - srt: junk datagrams, induction floods and forged conclusions on the SRT port.
// Printed and written: the relay's peak RSS (sampled every 100 ms) against its idle RSS, whether the live
// stream kept delivering parts (the longest gap between two parts during the attack), and whether the
// metrics port kept answering.
// Run: npm run bench -- hostile-clients     (writes bench/results/hostile-clients.json)
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { basicHeader } from '../ingest-relay/src/listen/rtmp/chunk-stream.ts';
import { HandshakeType, serializeHandshake } from '../ingest-relay/src/listen/srt/handshake-wire.ts';
import { ControlType, control, serializePacket } from '../ingest-relay/src/listen/srt/packet.ts';
import { testPatternArgs } from '../scripts/peers.ts';
import { round, rssMiB, writeResult } from './lib.ts';
import { SinkWorker, startRelayProcess, stopChild } from './relay-rig.ts';

const IDLE = Number(process.env.BENCH_IDLE ?? 3000);
const GARBAGE = Number(process.env.BENCH_GARBAGE ?? 300);
const DECLARED = Number(process.env.BENCH_DECLARED ?? 900);
const DATAGRAMS = Number(process.env.BENCH_DATAGRAMS ?? 60_000);
const HOLD_MS = 8000;
const PER_SOURCE = 30;

const sink = new SinkWorker();
await sink.start();
const relay = await startRelayProcess(sink.url, { openFiles: 20_000, env: { LOG_LEVEL: 'warn' } });
const rtmpPort = Number(new URL(relay.rtmpUrl.replace('rtmp:', 'http:')).port);

const samples = { peakRssMiB: 0, metricsAsked: 0, metricsAnswered: 0 };
let sampling = true;
const sampler = (async () => {
  let tick = 0;
  while (sampling) {
    samples.peakRssMiB = Math.max(samples.peakRssMiB, rssMiB(relay.pid));
    if (++tick % 5 === 0) {
      samples.metricsAsked++;
      fetch(`${relay.metricsUrl}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text().then(() => r.ok && samples.metricsAnswered++))
        .catch(() => undefined);
    }
    await sleep(100);
  }
})();

/** A TCP socket to the RTMP port from loopback source `i` (127.0.1.x), resolved once connected or refused. */
function connectFrom(i: number): Promise<net.Socket | undefined> {
  const localAddress = `127.0.1.${1 + (Math.floor(i / PER_SOURCE) % 250)}`;
  return new Promise((resolve) => {
    const socket = net.connect({ port: rtmpPort, host: '127.0.0.1', localAddress });
    socket.on('error', () => resolve(undefined));
    socket.once('connect', () => resolve(socket));
    socket.setTimeout(HOLD_MS * 3, () => socket.destroy());
  });
}

/** Plain C0+C1, then C2 once S0-S2 are back: the handshake any client may do. */
async function handshake(socket: net.Socket): Promise<boolean> {
  const c0c1 = new Uint8Array(1537);
  c0c1[0] = 3;
  socket.write(c0c1);
  let got = 0;
  const ok = await new Promise<boolean>((resolve) => {
    socket.on('data', (d: Buffer) => {
      got += d.byteLength;
      if (got >= 3073) resolve(true);
    });
    socket.once('close', () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  if (ok) socket.write(new Uint8Array(1536));
  return ok;
}

async function phase(name: string, run: () => Promise<{ opened: number; stillOpen: () => number }>) {
  const rssBefore = rssMiB(relay.pid);
  const t0 = performance.now();
  const { opened, stillOpen } = await run();
  await sleep(HOLD_MS);
  const open = stillOpen();
  const result = {
    phase: name,
    opened,
    stillOpenAfterHold: open,
    rssMiB: round(rssMiB(relay.pid), 1),
    rssBefore: round(rssBefore, 1),
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  console.log(JSON.stringify(result));
  return result;
}

async function sockets(count: number, after: (s: net.Socket, i: number) => Promise<void>) {
  const all: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) => connectFrom(i + j)),
    );
    for (const [j, s] of batch.entries()) {
      if (!s) continue;
      all.push(s);
      void after(s, i + j).catch(() => s.destroy());
    }
  }
  return {
    opened: all.length,
    stillOpen: () => all.filter((s) => !s.destroyed && !s.readableEnded).length,
    all,
  };
}

function declareAll(socket: net.Socket): void {
  // Set Chunk Size 1000 (csid 2), then on csids 3..66 a 1000-byte message with 999 bytes sent: each stays open.
  socket.write(Uint8Array.from([...basicHeader(0, 2), 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]));
  for (let csid = 3; csid < 67; csid++) {
    const header = [...basicHeader(0, csid), 0, 0, 0, 0, 0x03, 0xe8, 20, 0, 0, 0, 0];
    socket.write(Uint8Array.from([...header, ...new Uint8Array(999)]));
  }
}

const live: ChildProcess = spawn(
  'ffmpeg',
  testPatternArgs({
    url: `${relay.rtmpUrl}/bench-live`,
    format: 'flv',
    size: '320x240',
    videoBitrate: '400k',
  }),
  { stdio: 'ignore' },
);
const results: unknown[] = [];
let attackFrom = 0;
try {
  while (!sink.sessions[0] || sink.sessions[0].parts.length < 10) await sleep(100);
  await sleep(2000);
  const idleRss = rssMiB(relay.pid);
  attackFrom = Date.now();
  const opened: net.Socket[] = [];
  const track = <T extends { all: net.Socket[] }>(r: T) => {
    opened.push(...r.all);
    return r;
  };
  results.push(await phase('idle', async () => track(await sockets(IDLE, async () => {}))));
  for (const s of opened.splice(0)) s.destroy();
  results.push(
    await phase('garbage', async () =>
      track(
        await sockets(GARBAGE, async (s) => {
          if (await handshake(s)) s.write(crypto.getRandomValues(new Uint8Array(4096)));
        }),
      ),
    ),
  );
  for (const s of opened.splice(0)) s.destroy();
  results.push(
    await phase('declared', async () =>
      track(
        await sockets(DECLARED, async (s, i) => {
          if (!(await handshake(s))) return;
          if (i % 10 === 0)
            s.write(Uint8Array.from([...basicHeader(0, 4), 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0]));
          else declareAll(s);
        }),
      ),
    ),
  );
  for (const s of opened.splice(0)) s.destroy();
  results.push(await phase('srt', async () => srtFlood(relay.srtPort)));
  const attackTo = Date.now();
  const arrivals = sink.sessions[0]!.arrivals.filter((t) => t >= attackFrom && t <= attackTo);
  let gap = 0;
  for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i]! - arrivals[i - 1]!);
  sampling = false;
  await sampler;
  writeResult('hostile-clients.json', {
    at: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    limits: 'defaults (MAX_CONNECTIONS 1000, MAX_CONNECTIONS_PER_IP 32, RTMP_PREAUTH_BUFFER_BYTES 64 KiB)',
    idleRssMiB: round(idleRss, 1),
    peakRssMiB: round(samples.peakRssMiB, 1),
    liveStream: {
      partsDuringAttack: arrivals.length,
      attackSeconds: round((attackTo - attackFrom) / 1000, 1),
      longestGapMs: gap,
      lostParts: sink.missingParts(),
      stillPublishing: live.exitCode === null,
    },
    metrics: { asked: samples.metricsAsked, answered: samples.metricsAnswered },
    phases: results,
  });
} finally {
  sampling = false;
  await stopChild(live, 'SIGINT');
  await relay.stop();
  await sink.stop();
}

/** Junk, induction floods and forged conclusions from 16 sockets, paced to about 20,000 datagrams a second. */
async function srtFlood(port: number) {
  const senders = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, `127.0.2.${i + 1}`, () => r()));
      return s;
    }),
  );
  const induction = handshakePacket(HandshakeType.induction, 0);
  const forged = handshakePacket(HandshakeType.conclusion, 0x12345678);
  for (let n = 0; n < DATAGRAMS; n += 200) {
    for (let k = 0; k < 200; k++) {
      const kind = (n + k) % 3;
      const bytes =
        kind === 0
          ? crypto.getRandomValues(new Uint8Array(64 + ((n + k) % 1200)))
          : kind === 1
            ? induction
            : forged;
      senders[(n + k) % senders.length]!.send(bytes, port, '127.0.0.1');
    }
    await sleep(10);
  }
  for (const s of senders) s.close();
  return { opened: DATAGRAMS, stillOpen: () => 0 };
}

/** An SRT handshake to socket 0: an induction (v4), or a v5 conclusion carrying a forged `cookie`. */
function handshakePacket(type: number, cookie: number): Uint8Array {
  const induction = type === HandshakeType.induction;
  return serializePacket(
    control(ControlType.handshake, {
      destSocketId: 0,
      timestamp: 1,
      cif: serializeHandshake({
        version: induction ? 4 : 5,
        encryptionField: 0,
        extensionField: induction ? 2 : 5,
        initialSeq: 1,
        mtu: 1500,
        flowWindow: 8192,
        handshakeType: type,
        socketId: 1234,
        cookie,
        peerIp: [0, 0, 0, 0],
        extensions: [],
      }),
    }),
  );
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
