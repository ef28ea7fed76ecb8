/**
 * `npm run fuzz`: every target of targets.ts, 1,000,000 inputs each (most of an hour on one core).
 *
 *   npm run fuzz -- --quick            a bounded run: 6.5 s per target, under two minutes in all
 *   npm run fuzz -- --runs 20000       another count per target
 *   npm run fuzz -- --seed 7           another seed (default: the time, printed so a run can be replayed)
 *   npm run fuzz -- --only amf0,flv-tags
 *
 * Prints one line per target (inputs, wall time, slowest input, most memory one input allocated, heap
 * before/after, peak RSS) and fast-check's report of any crash; exits 1 if any target failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runTarget, type TargetReport } from './driver.ts';
import { TARGETS } from './targets.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' },
  },
});

const QUICK_MS_PER_TARGET = 6_500;
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const numRuns = values.runs !== undefined ? Number(values.runs) : values.quick ? 1e9 : 1_000_000;
const only = values.only?.split(',');
const targets = TARGETS.filter((t) => only === undefined || only.includes(t.name));
if (targets.length === 0) throw new Error(`no target named ${values.only}`);

const crashDir = join(tmpdir(), 'edge-live-fuzz');
mkdirSync(crashDir, { recursive: true });
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const line = (r: TargetReport) =>
  [
    r.name.padEnd(18),
    `${r.runs.toLocaleString('en')} inputs`.padStart(18),
    `${(r.wallMs / 1000).toFixed(1)} s`.padStart(9),
    `slowest ${r.slowestMs.toFixed(1)} ms`,
    `max alloc/input ${mib(r.maxExternal.bytes)} (input ${r.maxExternal.inputLength} B)`,
    `heap ${mib(r.heapStart)} -> ${mib(r.heapEnd)}`,
    `peak RSS ${mib(r.peakRss)}`,
    r.failure ? 'CRASH' : 'ok',
  ].join('  ');

console.log(
  `fuzzing ${targets.length} targets, seed ${seed}, ${values.quick ? `${QUICK_MS_PER_TARGET / 1000} s` : numRuns.toLocaleString('en')} per target`,
);
const started = performance.now();
const reports: TargetReport[] = [];
for (const target of targets) {
  const report = runTarget(target, {
    numRuns,
    seed,
    timeLimitMs: values.quick ? QUICK_MS_PER_TARGET : undefined,
    heapSampleEvery: values.quick ? 2000 : Math.max(1000, Math.min(50_000, Math.floor(numRuns / 20))),
  });
  reports.push(report);
  console.log(line(report));
  if (report.failure) {
    const file = join(crashDir, `${report.name}-seed-${seed}.txt`);
    writeFileSync(file, `${report.failure}\n${report.failureReport ?? ''}\n`);
    console.log(`  ${report.failure}\n  counterexample, seed and path: ${file}`);
  }
}
const failed = reports.filter((r) => r.failure);
const total = reports.reduce((n, r) => n + r.runs, 0);
console.log(
  `${total.toLocaleString('en')} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
    `${failed.length} target(s) crashed${failed.length ? `: ${failed.map((r) => r.name).join(', ')}` : ''}`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
