import { env, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';

it('answers the trivial route and reaches a Durable Object', async () => {
  const res = await SELF.fetch('http://example.com/healthz');
  expect(await res.text()).toBe('ok');
  const stub = env.STREAM.get(env.STREAM.idFromName('smoke'));
  expect(await stub.ping()).toBe('pong');
});
