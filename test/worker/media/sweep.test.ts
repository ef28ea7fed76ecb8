// Deleting a stream answers at once and leaves its media to the stream object's alarm, which empties the
// stream's R2 prefix in bounded runs whatever the count (the old purge stopped at 100,000 objects) and touches
// nothing else.
import { env, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sessionPrefix, streamPrefixes } from '../../../src/media/keys.ts';
import { SWEEP_PAGE, sweepPrefix } from '../../../src/media/sweep.ts';

// Local R2 takes a few ms a put: filling past a page takes seconds on a loaded machine.
const FILL_TIMEOUT_MS = 60_000;

import { call, createStream, ORIGIN } from '../api/client.ts';

/** `count` parts under `prefix`: a stream prefix (of session se_x), or a session's own (`session` null). */
async function fill(prefix: string, count: number, session: string | null = 'se_x'): Promise<void> {
  const keys = Array.from(
    { length: count },
    (_, i) => `${prefix}${session ? `${session}/` : ''}source/${Math.floor(i / 8)}.${i % 8}.m4s`,
  );
  for (let i = 0; i < keys.length; i += 100) {
    await Promise.all(keys.slice(i, i + 100).map((k) => env.MEDIA.put(k, 'x')));
  }
}

/** Objects under the prefix, or under all of them (a stream's retention classes). */
async function count(prefix: string | string[]): Promise<number> {
  if (Array.isArray(prefix)) return (await Promise.all(prefix.map(count))).reduce((a, b) => a + b, 0);
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ prefix, cursor, limit: 1000 });
    n += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return n;
}

describe('media sweep', () => {
  it(
    'empties a prefix in runs of whole pages, and nothing beside it',
    async () => {
      await fill('media/st_sweep_unit/', 600);
      await fill('media/st_sweep_unit2/', 3); // shares the prefix's first characters: must stay
      const runs = [];
      for (let i = 0; i < 5; i++) {
        const run = await sweepPrefix(env.MEDIA, 'media/st_sweep_unit/', 250);
        runs.push(run);
        if (run.emptied) break;
      }
      expect(runs.map((r) => r.deleted)).toEqual([250, 250, 100]);
      expect(runs.map((r) => r.emptied)).toEqual([false, false, true]);
      expect(await count('media/st_sweep_unit/')).toBe(0);
      expect(await count('media/st_sweep_unit2/')).toBe(3);
    },
    FILL_TIMEOUT_MS,
  );

  it(
    'deletes a stream at once; the alarm sweeps its media past one page, and nothing else',
    async () => {
      const stream = await createStream();
      const other = await createStream();
      // Sessions of two retention classes (src/media/keys.ts): se_x names none (the longest), se_d7_y 7 days.
      await fill(sessionPrefix(stream.id, 'se_x'), SWEEP_PAGE + 150, null);
      await fill(sessionPrefix(stream.id, 'se_d7_y'), 20, null);
      await fill(sessionPrefix(other.id, 'se_x'), 7, null);
      expect(await count(streamPrefixes(stream.id))).toBe(SWEEP_PAGE + 170);
      const part = `${ORIGIN}/live/${stream.id}/source/se_x/0.1.m4s`;
      const before = await SELF.fetch(part);
      expect(before.status).toBe(200);
      await before.body?.cancel();
      const res = await call('DELETE', `/v1/streams/${stream.id}`);
      expect(res.status).toBe(204);
      expect((await call('GET', `/v1/streams/${stream.id}`)).status).toBe(404);
      // Its media is refused at once, while still in R2 (other isolates: within the 10 s access bound).
      const after = await SELF.fetch(part);
      expect(after.status).toBe(404);
      await after.body?.cancel();
      // The DELETE queued the media for the object's alarm (set for now: it fires on its own, or here).
      const stub = env.STREAM.get(env.STREAM.idFromName(stream.id));
      await runDurableObjectAlarm(stub);
      await expect.poll(() => count(streamPrefixes(stream.id)), { timeout: 20_000, interval: 200 }).toBe(0);
      await expect.poll(() => stub.pendingSweeps(), { timeout: 5_000 }).toEqual([]);
      expect(await count(streamPrefixes(other.id))).toBe(7);
    },
    FILL_TIMEOUT_MS,
  );
});
