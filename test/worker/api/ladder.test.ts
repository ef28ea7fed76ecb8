// Issue 12: the ladder config field on the REST API. Validated where it enters (422 naming the field, down to
// the rung and its property), stored by the registry and read back through the one schema, handed to the relay
// in the session-start answer, and documented in the OpenAPI document.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StartSessionResponse } from '../../../src/contract/ingest.ts';
import type { Rung } from '../../../src/contract/ladder.ts';
import { call, createStream, expectProblem, ORIGIN } from './client.ts';

const RUNGS: Rung[] = [
  { name: '540p', height: 540, videoBitrate: 2_000_000, maxFrameRate: 30 },
  { name: '270p', height: 270, videoBitrate: 400_000 },
];

const rung = (over: Partial<Rung> & Record<string, unknown>) => ({
  name: 'r1',
  height: 360,
  videoBitrate: 800_000,
  ...over,
});

async function readConfig(id: string): Promise<{ ladder: unknown }> {
  const res = await call('GET', `/v1/streams/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { config: { ladder: unknown } }).config;
}

describe('ladder on /v1/streams', () => {
  it('defaults to "standard" and round-trips explicit rungs through create, get, list and patch', async () => {
    const plain = await createStream();
    expect(plain.config.ladder).toBe('standard');

    const s = await createStream({ ladder: RUNGS });
    expect(s.config.ladder).toEqual(RUNGS);
    expect((await readConfig(s.id)).ladder).toEqual(RUNGS);
    const list = (await (await call('GET', '/v1/streams?limit=100')).json()) as {
      streams: { id: string; config: { ladder: unknown } }[];
    };
    expect(list.streams.find((x) => x.id === s.id)?.config.ladder).toEqual(RUNGS);

    const patched = await call('PATCH', `/v1/streams/${s.id}`, { json: { ladder: 'passthrough' } });
    expect(patched.status).toBe(200);
    expect((await readConfig(s.id)).ladder).toBe('passthrough');
    const back = await call('PATCH', `/v1/streams/${s.id}`, { json: { ladder: [RUNGS[1]] } });
    expect(back.status).toBe(200);
    expect((await readConfig(s.id)).ladder).toEqual([RUNGS[1]]);
  });

  it('hands the stored ladder to the relay when a session starts', async () => {
    const s = await createStream({ ladder: RUNGS });
    const res = await call('POST', '/internal/v1/sessions', {
      json: { streamKey: s.streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:1', relayId: 'r' },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as StartSessionResponse).config.ladder).toEqual(RUNGS);
  });

  const invalid: [string, unknown, string][] = [
    ['seven rungs', Array.from({ length: 7 }, (_, i) => rung({ name: `r${i}` })), 'ladder'],
    ['an odd height', [rung({ height: 361 })], 'ladder.0.height'],
    ['a height below 144', [rung({ height: 142 })], 'ladder.0.height'],
    ['a height above 2160', [rung({ height: 2162 })], 'ladder.0.height'],
    ['a fractional height', [rung({ height: 360.5 })], 'ladder.0.height'],
    ['a bitrate below 100 kb/s', [rung({ videoBitrate: 99_999 })], 'ladder.0.videoBitrate'],
    ['a bitrate above 20 Mb/s', [rung({ videoBitrate: 20_000_001 })], 'ladder.0.videoBitrate'],
    ['duplicate names', [rung({ name: 'a' }), rung({ name: 'a', height: 240 })], 'ladder'],
    ['the name source', [rung({ name: 'source' })], 'ladder.0.name'],
    ['a name that is not URL-safe', [rung({ name: 'my rung' })], 'ladder.0.name'],
    ['an upper-case name', [rung({ name: 'HD' })], 'ladder.0.name'],
    ['an empty name', [rung({ name: '' })], 'ladder.0.name'],
    ['a 33-character name', [rung({ name: 'r'.repeat(33) })], 'ladder.0.name'],
    ['a rung without a height', [{ name: 'r', videoBitrate: 800_000 }], 'ladder.0.height'],
    ['an unknown rung field', [rung({ width: 640 })], 'ladder.0.width'],
    ['a frame rate above 120', [rung({ maxFrameRate: 240 })], 'ladder.0.maxFrameRate'],
    ['an unknown string', 'hd', 'ladder'],
    ['a number', 3, 'ladder'],
  ];

  for (const [what, ladder, field] of invalid) {
    it(`refuses ${what} with 422 naming ${field}, on POST and on PATCH`, async () => {
      const created = await expectProblem(
        await call('POST', '/v1/streams', { json: { ladder } }),
        422,
        'validation-failed',
      );
      expect(created.errors?.map((e) => e.field)).toContain(field);
      expect(created.detail).toContain(field);

      const s = await createStream({ ladder: RUNGS });
      const patched = await expectProblem(
        await call('PATCH', `/v1/streams/${s.id}`, { json: { ladder } }),
        422,
        'validation-failed',
      );
      expect(patched.errors?.map((e) => e.field)).toContain(field);
      expect((await readConfig(s.id)).ladder).toEqual(RUNGS);
    });
  }

  it('says what the alternatives are for a value of neither kind', async () => {
    const p = await expectProblem(
      await call('POST', '/v1/streams', { json: { ladder: 'hd' } }),
      422,
      'validation-failed',
    );
    expect(p.detail).toContain('"standard"|"passthrough"');
    expect(p.detail).toContain('expected array');
  });

  it('is documented in the OpenAPI document with its bounds', async () => {
    const doc = (await (await SELF.fetch(`${ORIGIN}/v1/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    for (const name of ['CreateStream', 'UpdateStream', 'StreamConfig']) {
      const ladder = JSON.stringify(doc.components.schemas[name]?.properties.ladder);
      expect(ladder, name).toContain('"passthrough"');
      expect(ladder, name).toContain('"maxItems":6');
      expect(ladder, name).toContain('"minimum":144');
      expect(ladder, name).toContain('"maximum":2160');
      expect(ladder, name).toContain('"minimum":100000');
      expect(ladder, name).toContain('"maximum":20000000');
    }
    expect(JSON.stringify(doc.components.schemas.CreateStream?.properties.ladder)).toContain(
      'Fixed per event',
    );
  });
});
