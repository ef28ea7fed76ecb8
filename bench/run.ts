// `npm run bench -- <name>`: runs one benchmark (or all, in order, with no name). Each writes its numbers to
// bench/results/<name>.json and prints them.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = [
  'worker-routes',
  'rtmp-latency',
  'latency-breakdown',
  'relay-cpu',
  'srt-loss',
  'srt-e2e-repeat',
  'failover',
  'relay-capacity',
  'relay-profile',
  'hostile-clients',
  'ladder',
  'ladder-switch',
  'fanout-load',
  'fanout-model',
  'vod-rewrite',
  'dvr-event',
  'dvr-live',
];
const wanted = process.argv.slice(2).map((n) => all.find((a) => a === n || a.startsWith(n)) ?? n);
for (const name of wanted.length ? wanted : all) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark ${name}; one of: ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  const res = spawnSync(process.execPath, [join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
