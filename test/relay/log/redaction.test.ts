// Secrets never reach a log line: field names that would carry one are a type error, pino's redact censors
// them one object down, and the scrubber replaces stream keys and registered secrets anywhere in the line.
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  RateLimitedLog,
  REDACTED,
  registerSecret,
  scrubber,
} from '../../../ingest-relay/src/log.ts';

function memoryLogger() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  return { log, lines };
}

describe('relay log redaction', () => {
  it('censors secret fields at the top level and inside objects', () => {
    const { log, lines } = memoryLogger();
    const fields: Record<string, unknown> = { streamKey: 'abc', passphrase: 'hunter2hunter2' };
    log.info(fields, 'top level');
    log.info({ stats: { streamKey: 'abc', token: 'tok' }, request: { srtPassphrase: 'p' } }, 'nested');
    expect(lines.join('')).not.toMatch(/abc|hunter2|tok"|"p"/);
    expect(JSON.parse(lines[1]!).stats).toEqual({ streamKey: REDACTED, token: REDACTED });
  });

  it('scrubs stream keys and registered secrets from message text and error strings', () => {
    const { log, lines } = memoryLogger();
    registerSecret('a-passphrase-known-at-run-time');
    log.warn({ reason: 'publish sk_AbCdEf123456_-x refused' }, 'refused sk_ZZZZZZZZZZ');
    log.error({ err: 'unwrap with a-passphrase-known-at-run-time failed' }, 'srt');
    const text = lines.join('');
    expect(text).not.toMatch(/sk_AbCdEf|sk_ZZZZ|a-passphrase-known/);
    expect(text).toContain(`sk_${REDACTED}`);
    expect(scrubber(['short'])('a short word')).toBe('a short word'); // literals under 8 chars are not scrubbed
  });

  // Checked by `npm run typecheck`: an unused @ts-expect-error is itself an error.
  it('rejects secret-named fields at compile time', () => {
    const { log, lines } = memoryLogger();
    // @ts-expect-error a stream key cannot be a log field
    log.info({ streamKey: 'x' }, 'never compiles');
    // @ts-expect-error nor a passphrase, in a child's bindings
    log.child({ passphrase: 'x' });
    expect(lines.join('')).not.toContain('"x"'); // and redact still censors it when forced through
  });

  it('rate-limits to the configured lines a window and counts what it held back', () => {
    const { log, lines } = memoryLogger();
    const limited = new RateLimitedLog(log, 1000, 2);
    for (let i = 0; i < 10; i++) limited.warn({ i }, 'flood', 5000 + i);
    limited.warn({ i: 10 }, 'flood', 6000);
    expect(lines.map((l) => JSON.parse(l).suppressed)).toEqual([0, 0, 8]);
  });
});
