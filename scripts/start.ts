// `npm start`: the whole stack on this machine. The Worker under wrangler dev (local R2 and Durable Objects in
// .wrangler/state) and the ingest relay (RTMP, RTMPS with a self-signed certificate, SRT, metrics).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevCertificate, ensureDevSecrets } from './dev-env.ts';
import { startStack } from './stack.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const secrets = ensureDevSecrets(root);
const tls =
  process.env.RTMPS_CERT && process.env.RTMPS_KEY
    ? { cert: process.env.RTMPS_CERT, key: process.env.RTMPS_KEY }
    : await ensureDevCertificate(root);

console.log('starting the Worker (wrangler dev) and the ingest relay…');
const stack = await startStack({
  root,
  ...secrets,
  port: envPort('PORT', 8787),
  rtmpPort: envPort('RTMP_PORT', 1935),
  rtmpsPort: envPort('RTMPS_PORT', 1936),
  srtPort: envPort('SRT_PORT', 9000),
  metricsPort: envPort('METRICS_PORT', 9100),
  tls,
  persistTo: join(root, '.wrangler', 'state'),
  output: 'inherit',
});

const api = stack.workerUrl;
console.log(`
edge-live is running.

  API, playback, player   ${api}            (OpenAPI: ${api}/v1/openapi.json)
  RTMP ingest             ${stack.rtmpUrl}/{streamKey}
  RTMPS ingest            ${stack.rtmpsUrl ?? '(off)'}/{streamKey}   (self-signed certificate in .dev-certs/)
  SRT ingest              ${stack.srtUrl}?streamid={streamKey}
  relay metrics           ${stack.metricsUrl}

  API token (kept in .dev.vars):  ${stack.apiToken}

Create a stream:
  curl -s -X POST ${api}/v1/streams -H "authorization: Bearer ${stack.apiToken}" \\
       -H 'content-type: application/json' -d '{"name":"my first stream"}'

Then publish to the "ingest.rtmp" URL it returns, e.g. with ffmpeg or OBS, and open "playback.player".
Or run \`npm run demo\` in another terminal: it creates a stream and publishes a test pattern.
Stop with Ctrl-C.
`);

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
stack.worker.on('exit', (code) => {
  if (!stopping) console.error(`wrangler dev exited (${code}); stopping`);
  void shutdown(1);
});
stack.relay.on('exit', (code) => {
  if (!stopping) console.error(`ingest relay exited (${code}); stopping`);
  void shutdown(1);
});
