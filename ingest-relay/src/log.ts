import pino from 'pino';

/** The relay's logger: JSON lines on stdout; `LOG_LEVEL` picks the level (default `info`). */
export const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { svc: 'ingest-relay' } });

export type Logger = typeof log;

/**
 * Logs a repeated problem at most once per `intervalMs`, with the count of occurrences folded into the line
 * (STYLE.md: malformed input is counted, logged at most once a second).
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(logger: Logger, intervalMs = 1000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(fields: Record<string, unknown>, message: string, now = Date.now()): void {
    if (now - this.#lastAt < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#logger.warn({ ...fields, suppressed: this.#suppressed }, message);
    this.#lastAt = now;
    this.#suppressed = 0;
  }
}
