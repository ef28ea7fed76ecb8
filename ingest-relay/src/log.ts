import pino from 'pino';

/**
 * Field names that would carry a secret: a stream key, an SRT passphrase, a bearer token. `LogFields` makes
 * them a type error at every call site; pino's `redact` (below) catches them one level down (inside a `stats`
 * or `request` object), and `scrub` catches a stream key or the relay's own token inside a message string.
 */
export const SECRET_FIELDS = [
  'streamKey',
  'passphrase',
  'srtPassphrase',
  'token',
  'ingestToken',
  'authorization',
  'secret',
] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

/** What a log line may carry: anything but a field named like a secret. */
export type LogFields = { readonly [K in SecretField]?: never } & Record<string, unknown>;

interface LogFn {
  (fields: LogFields, message?: string): void;
  (message: string): void;
}

/** The relay's logger interface: pino's, with fields typed so that they cannot carry a secret. */
export interface Logger {
  level: string;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: LogFields): Logger;
  isLevelEnabled(level: string): boolean;
}

export const REDACTED = '[redacted]';

/** Stream keys have a known shape (src/registry/ids.ts: `sk_` and base64url); they never reach a log line. */
const STREAM_KEY_TEXT = /\bsk_[A-Za-z0-9_-]{6,}/g;

/**
 * The last line of defence, applied to every serialized line: stream keys, and any literal the process was
 * told is secret (its INGEST_TOKEN), replaced wherever they appear, message text and error stacks included.
 */
export function scrubber(literals: readonly string[]): (line: string) => string {
  return (line) => {
    let out = line.replace(STREAM_KEY_TEXT, `sk_${REDACTED}`);
    for (const s of literals)
      if (s.length >= MIN_SECRET_LENGTH && out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

/** Shorter literals are not scrubbed: they would match ordinary text (SRT passphrases are 10-79 bytes). */
const MIN_SECRET_LENGTH = 8;
/** At most this many run-time secrets are remembered (oldest forgotten first). */
const MAX_SECRETS = 1024;
const secretLiterals: string[] = [process.env.INGEST_TOKEN ?? ''];
const scrub = scrubber(secretLiterals);

/** Tells the scrubber about a secret known only at run time (an SRT passphrase from the Worker). */
export function registerSecret(value: string | null | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH || secretLiterals.includes(value)) return;
  if (secretLiterals.length >= MAX_SECRETS) secretLiterals.splice(1, 1);
  secretLiterals.push(value);
}

/** Redact paths: the secret fields at the top level and one object down (pino's `*` is one level). */
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]);

/**
 * A logger with the relay's redaction and scrubbing: JSON lines on `destination` (stdout by default).
 * Tests pass a memory destination.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { svc: 'ingest-relay' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: { streamWrite: scrub },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** The relay's logger: JSON lines on stdout; `LOG_LEVEL` picks the level (default `info`). */
export const log: Logger = createLogger({ level: process.env.LOG_LEVEL });

/**
 * Logs a repeated problem at most `perInterval` times per `intervalMs` (default once a second), with the count
 * of lines suppressed since folded into the next line (STYLE.md: malformed input is counted, logged at most
 * once a second). A listener-wide log of refusals allows a few a second, so one user's wrong passphrase is not
 * lost behind another's, while a flood still costs a counter.
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #perInterval: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #inWindow = 0;
  #suppressed = 0;

  constructor(logger: Logger, intervalMs = 1000, perInterval = 1) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#perInterval = perInterval;
  }

  info(fields: LogFields, message: string, now = Date.now()): void {
    this.#emit('info', fields, message, now);
  }

  warn(fields: LogFields, message: string, now = Date.now()): void {
    this.#emit('warn', fields, message, now);
  }

  error(fields: LogFields, message: string, now = Date.now()): void {
    this.#emit('error', fields, message, now);
  }

  #emit(level: 'info' | 'warn' | 'error', fields: LogFields, message: string, now: number): void {
    if (now - this.#windowStart >= this.#intervalMs) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#perInterval) {
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    this.#logger[level]({ ...fields, suppressed: this.#suppressed }, message);
    this.#suppressed = 0;
  }
}
