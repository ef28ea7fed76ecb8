// `npm run demo`: with `npm start` running, creates a stream and publishes an ffmpeg test pattern to it over
// RTMP (or SRT with `npm run demo -- --srt`), then prints the player URL. Ctrl-C stops the encoder.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDevVars } from './dev-env.ts';
import { testPatternArgs } from './peers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const devVars = existsSync(join(root, '.dev.vars'))
  ? parseDevVars(readFileSync(join(root, '.dev.vars'), 'utf8'))
  : new Map<string, string>();
const token = process.env.API_TOKEN ?? devVars.get('API_TOKEN');
const api = process.env.API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
const useSrt = process.argv.includes('--srt');

if (!token) {
  console.error(
    'No API token: start the stack with `npm start` first (it writes .dev.vars), or set API_TOKEN.',
  );
  process.exit(1);
}

const res = await fetch(`${api}/v1/streams`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'demo test pattern' }),
}).catch((err: unknown) => {
  console.error(`Cannot reach the Worker at ${api} (${String(err)}). Is \`npm start\` running?`);
  process.exit(1);
});
if (res.status !== 201) {
  console.error(`Creating the stream failed: ${res.status} ${await res.text()}`);
  process.exit(1);
}
const stream = (await res.json()) as {
  id: string;
  ingest: { rtmp: string; srt: string };
  playback: { hls: string; player: string };
};
const target = useSrt ? stream.ingest.srt : stream.ingest.rtmp;
console.log(`stream ${stream.id}
  player:   ${stream.playback.player}
  HLS:      ${stream.playback.hls}
  ingest:   ${useSrt ? 'SRT' : 'RTMP'} (ffmpeg test pattern, 1 s keyframes)
Open the player URL in a browser; video appears within a few seconds. Ctrl-C to stop.`);

const ffmpeg = spawn(
  'ffmpeg',
  testPatternArgs({
    url: target,
    format: useSrt ? 'mpegts' : 'flv',
    size: '1280x720',
    videoBitrate: '2500k',
    audioBitrate: '128k',
  }),
  { stdio: 'inherit' },
);
ffmpeg.on('error', (err) => {
  console.error(`Could not run ffmpeg (${err.message}). Install it (e.g. apt-get install ffmpeg).`);
  process.exit(1);
});
ffmpeg.on('exit', (code) => process.exit(code ?? 0));
process.on('SIGINT', () => ffmpeg.kill('SIGINT'));
