/**
 * One fuzz target: a byte parser of the relay, the inputs to try on it and how to feed them. The driver
 * (run.ts, and the fixed-seed vitest file) runs every target the same way, with the same oracle:
 *
 * - no exception, except the parser's documented error (`expected`, e.g. RtmpError); a TypeError,
 *   RangeError or any other throw is a crash, and so is a broken invariant (`check` throws InvariantError);
 * - no single input over 100 ms of CPU time (the main thread's, so a busy machine does not count);
 * - bounded memory: external (ArrayBuffer) memory allocated while one input is fed stays under
 *   `MEMORY_FLOOR_BYTES` + `MEMORY_FACTOR` x the input's length, and the heap does not grow across a run.
 */
import type fc from 'fast-check';
import type { FuzzCase } from './mutate.ts';

export interface FuzzTarget {
  name: string;
  /** The entry point(s) driven, for the report. */
  entry: string;
  /** Real inputs (cut from the ffmpeg captures), loaded once. */
  seeds: () => Uint8Array[];
  /** Structured inputs the target builds itself. */
  generate?: fc.Arbitrary<Uint8Array>;
  maxRandomLength?: number;
  /** Feeds one input; throws InvariantError when a result breaks what the parser promises. */
  feed: (input: FuzzCase) => void;
  /** The parser's own error type; anything else thrown is a crash. Default: nothing may be thrown. */
  expected?: (err: unknown) => boolean;
}

/** A parser result that breaks the parser's contract (distinct from the parser's own errors). */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Per-input CPU budget (issue 10: "no hang over 100 ms"). */
export const SLOW_INPUT_MS = 100;
export const MEMORY_FLOOR_BYTES = 4 * 1024 * 1024;
export const MEMORY_FACTOR = 64;
