// A process running only the relay's SRT listener, for bench/srt-loss.ts: it accepts any stream id, counts
// what it receives and writes the delivered TS bytes to a file, like `srt-live-transmit … file://con > out`
// does for libsrt's receiver. Usage: node bench/srt-sink.ts <port> <out.ts> [latencyMs]
// On SIGTERM it prints the connection stats as JSON and exits.
import { createWriteStream } from 'node:fs';
import type { IngestHub } from '../ingest-relay/src/ingest-hub.ts';
import { startSrtServer } from '../ingest-relay/src/listen/srt/server.ts';
import { DEFAULT_STREAM_CONFIG } from '../src/contract/stream-config.ts';

const [port, outFile, latency] = process.argv.slice(2);
const out = createWriteStream(outFile as string);
let lastStats: unknown = null;

const hub: IngestHub = {
  authorize: async () => ({
    streamId: 'st_bench',
    config: DEFAULT_STREAM_CONFIG,
    srtPassphrase: null,
    role: 'primary',
  }),
  open: async () => ({
    streamId: 'st_bench',
    sessionId: 'se_bench',
    config: DEFAULT_STREAM_CONFIG,
    push: () => true,
    onDrain: () => undefined,
    onFatal: () => undefined,
    end: async () => undefined,
  }),
};

const server = await startSrtServer({
  host: '127.0.0.1',
  port: Number(port),
  hub,
  latencyMs: Number(latency ?? 120),
  onTsPayload: (_key, payload) => out.write(payload),
});
const poll = setInterval(() => {
  const c = server.connections()[0];
  if (c) lastStats = c;
}, 100);
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  clearInterval(poll);
  await server.close();
  out.end(() => {
    process.stdout.write(`${JSON.stringify(lastStats)}\n`);
    process.exit(0);
  });
});
