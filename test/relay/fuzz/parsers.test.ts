/**
 * A fixed-seed fuzz run of every parser in test/fuzz/targets.ts (a few thousand inputs each, same oracle as
 * `npm run fuzz`), and every input the fuzzer ever broke a parser with.
 */
import { describe, expect, it } from 'vitest';
import { runCase, runTarget } from '../../fuzz/driver.ts';
import { REGRESSIONS } from '../../fuzz/regressions.ts';
import { TARGETS } from '../../fuzz/targets.ts';

const RUNS = 3000;
const SEED = 20261202;

describe('fuzzed parsers, fixed seed', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s', (_name, target) => {
    const report = runTarget(target, { numRuns: RUNS, seed: SEED });
    expect(report.failure, report.failureReport).toBeUndefined();
    expect(report.runs).toBe(RUNS);
  });
});

describe('fuzz regressions', () => {
  it.each(REGRESSIONS.map((r) => [`${r.target}: ${r.found}`, r] as const))('%s', (_name, regression) => {
    const target = TARGETS.find((t) => t.name === regression.target);
    expect(target).toBeDefined();
    if (target) expect(() => runCase(target, regression.input())).not.toThrow();
  });
});
