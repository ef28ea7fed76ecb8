// The SRT end-to-end file (test/e2e/srt-to-hls.test.ts: ffmpeg and srt-live-transmit through a lossy proxy, then
// hls.js and ffmpeg reading the HLS back) run again and again while busy loops keep every core loaded: whether
// the relay's SRT receiver repairs every loss when it has to fight for CPU (issue 10, item 5). Each round is a
// fresh `vitest run` of that one file, so each starts its own stack. A round passes when every test in it does.
//   BENCH_ROUNDS=20 BENCH_BUSY=2 npm run bench -- srt-e2e-repeat     (writes bench/results/srt-e2e-repeat.json)
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { busyLoops, ROOT, round, writeResult } from './lib.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const BUSY = Number(process.env.BENCH_BUSY ?? availableParallelism());
const FILE = 'test/e2e/srt-to-hls.test.ts';
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const stopBusy = busyLoops(BUSY, ROUNDS * 600);
const rounds: { round: number; passed: boolean; seconds: number; failed: string[] }[] = [];
try {
  for (let i = 1; i <= ROUNDS; i++) {
    const t0 = performance.now();
    // vitest under this Node (24), whatever `node` the PATH holds.
    const run = spawnSync(process.execPath, [VITEST, 'run', '--project', 'e2e', FILE, '--reporter', 'json'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    const seconds = round((performance.now() - t0) / 1000, 1);
    const failed = failedTests(run.stdout);
    const passed = run.status === 0 && failed.length === 0;
    if (!passed && failed.length === 0) failed.push(`exit ${run.status}: ${run.stderr.slice(-400)}`);
    rounds.push({ round: i, passed, seconds, failed });
    console.log(JSON.stringify(rounds.at(-1)));
  }
} finally {
  stopBusy();
}

writeResult('srt-e2e-repeat.json', {
  at: new Date().toISOString(),
  machine: `${process.platform} ${process.arch}, node ${process.version}, ${availableParallelism()} cores`,
  file: FILE,
  cpuPressure: `${BUSY} busy loops`,
  rounds: ROUNDS,
  passed: rounds.filter((r) => r.passed).length,
  failures: rounds.filter((r) => !r.passed),
  secondsPerRound: rounds.map((r) => r.seconds),
});

/** The failed tests in vitest's JSON report, each with the start of its failure (or what stdout began with). */
function failedTests(stdout: string): string[] {
  const start = stdout.indexOf('{');
  try {
    const report = JSON.parse(stdout.slice(start)) as {
      testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
    };
    return report.testResults.flatMap((f) =>
      f.assertionResults
        .filter((a) => a.status !== 'passed')
        .map((a) => `${a.fullName}: ${(a.failureMessages[0] ?? '').slice(0, 600)}`),
    );
  } catch {
    return [`unreadable report: ${stdout.slice(0, 200)}`];
  }
}
