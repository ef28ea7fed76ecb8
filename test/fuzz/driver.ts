/**
 * Runs one fuzz target under fast-check with the oracle of target.ts, and says what happened: inputs run,
 * the first crash (shrunk by fast-check, with the seed and path that replay it), the slowest input, the most
 * external memory one input allocated, and the heap before and after.
 */
import v8 from 'node:v8';
import fc from 'fast-check';
import { type FuzzCase, fuzzCase } from './mutate.ts';
import {
  type FuzzTarget,
  InvariantError,
  MEMORY_FACTOR,
  MEMORY_FLOOR_BYTES,
  SLOW_INPUT_MS,
} from './target.ts';

export interface RunOptions {
  numRuns: number;
  seed: number;
  /** Stop early after this long (the run still counts what it did). */
  timeLimitMs?: number;
  /** Sample the heap (after a GC, when --expose-gc) every this many inputs; 0 = never. */
  heapSampleEvery?: number;
}

export interface TargetReport {
  name: string;
  runs: number;
  wallMs: number;
  /** What the first failing input did (shrunk by fast-check), undefined if none. */
  failure: string | undefined;
  /** fast-check's whole report of it: the counterexample and the seed and path that replay it. */
  failureReport: string | undefined;
  slowestMs: number;
  /** Most external memory allocated while one input was fed, bytes, and that input's length. */
  maxExternal: { bytes: number; inputLength: number };
  /** Heap used after GC at the first sample and at the end, bytes (0 without --expose-gc). */
  heapStart: number;
  heapEnd: number;
  peakRss: number;
}

const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  if (!gc) return 0;
  gc();
  return process.memoryUsage().heapUsed;
}

/** Feeds one case and applies the oracle; throws what the oracle rejects. */
export function runCase(target: FuzzTarget, input: FuzzCase): { ms: number; externalBytes: number } {
  const once = () => {
    const external = v8.getHeapStatistics().external_memory;
    // CPU time of this thread, not wall time: on a shared machine a preempted run is not a slow parser.
    const start = process.threadCpuUsage();
    try {
      target.feed(input);
    } catch (err) {
      if (err instanceof InvariantError || !target.expected?.(err)) throw err;
    }
    const cpu = process.threadCpuUsage(start);
    return {
      ms: (cpu.user + cpu.system) / 1000,
      externalBytes: v8.getHeapStatistics().external_memory - external,
    };
  };
  let result = once();
  // A slow input is run twice more: only one slow every time is a hang, not a GC pause or a cold JIT.
  for (let retry = 0; retry < 2 && result.ms > SLOW_INPUT_MS; retry++) {
    const again = once();
    if (again.ms < result.ms) result = again;
  }
  if (result.ms > SLOW_INPUT_MS) {
    throw new InvariantError(
      `input of ${input.bytes.byteLength} bytes took ${result.ms.toFixed(1)} ms of CPU`,
    );
  }
  const budget = MEMORY_FLOOR_BYTES + MEMORY_FACTOR * input.bytes.byteLength;
  if (result.externalBytes > budget) {
    throw new InvariantError(
      `input of ${input.bytes.byteLength} bytes allocated ${result.externalBytes} bytes (budget ${budget})`,
    );
  }
  return result;
}

export function runTarget(target: FuzzTarget, opts: RunOptions): TargetReport {
  const report: TargetReport = {
    name: target.name,
    runs: 0,
    wallMs: 0,
    failure: undefined,
    failureReport: undefined,
    slowestMs: 0,
    maxExternal: { bytes: 0, inputLength: 0 },
    heapStart: 0,
    heapEnd: 0,
    peakRss: process.memoryUsage.rss(),
  };
  const arbitrary = fuzzCase({
    seeds: target.seeds(),
    generate: target.generate,
    maxRandomLength: target.maxRandomLength,
  });
  const every = opts.heapSampleEvery ?? 0;
  let n = 0;
  const property = fc.property(arbitrary, (input) => {
    const { ms, externalBytes } = runCase(target, input);
    if (ms > report.slowestMs) report.slowestMs = ms;
    if (externalBytes > report.maxExternal.bytes) {
      report.maxExternal = { bytes: externalBytes, inputLength: input.bytes.byteLength };
    }
    if (every > 0 && ++n % every === 0) {
      const heap = heapAfterGc();
      if (report.heapStart === 0) report.heapStart = heap;
      report.peakRss = Math.max(report.peakRss, process.memoryUsage.rss());
    }
  });
  const start = performance.now();
  const details = fc.check(property, {
    numRuns: opts.numRuns,
    seed: opts.seed,
    interruptAfterTimeLimit: opts.timeLimitMs,
    markInterruptAsFailure: false,
  });
  report.wallMs = performance.now() - start;
  report.runs = details.numRuns;
  if (details.failed) {
    const err = details.errorInstance;
    report.failure = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    report.failureReport = fc.defaultReportMessage(details);
  }
  report.heapEnd = heapAfterGc();
  report.peakRss = Math.max(report.peakRss, process.memoryUsage.rss());
  if (!report.failure && report.heapStart > 0 && report.heapEnd - report.heapStart > HEAP_GROWTH_LIMIT) {
    report.failure = `heap grew from ${report.heapStart} to ${report.heapEnd} bytes over the run`;
  }
  return report;
}
