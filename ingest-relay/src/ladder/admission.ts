/**
 * Whether the relay can take one more ladder (issue 12 "Admission"): an input that arrives when the box has no
 * CPU left for another ffmpeg is passed through alone, and its health says so, rather than slowing every
 * ladder on the box below real time. Two checks: a count (`LADDER_MAX_INPUTS`) and the box's idle CPU over the
 * last few seconds (`LADDER_MIN_IDLE_PERCENT`).
 */
import { cpus } from 'node:os';

export interface LadderAdmissionOptions {
  maxInputs: number;
  /** Idle CPU over the last sample window, percent of the whole box, below which no ladder starts. */
  minIdlePercent: number;
  /** The box's idle CPU percent over the last window; undefined before a window exists. */
  idlePercent?: () => number | undefined;
}

export type Admission = { ok: true; release: () => void } | { ok: false; reason: string };

export class LadderAdmission {
  readonly #o: Required<LadderAdmissionOptions>;
  #active = 0;

  constructor(options: LadderAdmissionOptions) {
    this.#o = { idlePercent: cpuIdleSampler(), ...options };
  }

  get active(): number {
    return this.#active;
  }

  acquire(): Admission {
    if (this.#active >= this.#o.maxInputs) {
      return {
        ok: false,
        reason: `LADDER_MAX_INPUTS (${this.#o.maxInputs}) ladders already run on this relay`,
      };
    }
    const idle = this.#o.idlePercent();
    if (idle !== undefined && idle < this.#o.minIdlePercent) {
      return {
        ok: false,
        reason: `the relay's CPU is ${Math.round(100 - idle)} % busy (LADDER_MIN_IDLE_PERCENT ${this.#o.minIdlePercent})`,
      };
    }
    this.#active++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#active--;
      },
    };
  }
}

/** Samples `os.cpus()` every 2 s; answers the idle share of the last full window. */
export function cpuIdleSampler(windowMs = 2000): () => number | undefined {
  let last = totals();
  let idle: number | undefined;
  const timer = setInterval(() => {
    const now = totals();
    const busy = now.total - last.total;
    idle = busy > 0 ? (100 * (now.idle - last.idle)) / busy : undefined;
    last = now;
  }, windowMs);
  timer.unref();
  return () => idle;
}

function totals(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.idle + c.times.user + c.times.nice + c.times.sys + c.times.irq;
  }
  return { idle, total };
}
