// Webhook targets (issue 16): https only in production; literal private, loopback, link-local and localhost
// destinations refused with 422, in every spelling URL parsing normalizes; dev mode allows http and loopback.
import { describe, expect, it } from 'vitest';
import { checkWebhookTarget } from '../../../src/webhooks/target.ts';
import { call, expectProblem } from '../api/client.ts';

const production = { devMode: false };
const dev = { devMode: true };

const REFUSED = [
  'http://example.com/hook',
  'ftp://example.com/hook',
  'https://localhost/hook',
  'https://api.localhost./hook',
  'https://127.0.0.1/hook',
  'https://127.1/hook',
  'https://0x7f.0.0.1/hook',
  'https://2130706433/hook',
  'https://0177.0.0.1/hook',
  'https://10.1.2.3/hook',
  'https://172.16.0.1/hook',
  'https://172.31.255.255/hook',
  'https://192.168.1.1/hook',
  'https://169.254.169.254/latest/meta-data',
  'https://0.0.0.0/hook',
  'https://100.64.0.1/hook',
  'https://224.0.0.1/hook',
  'https://[::1]/hook',
  'https://[0:0:0:0:0:0:0:1]/hook',
  'https://[::]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://[::ffff:7f00:1]/hook',
  'https://[::ffff:10.0.0.1]/hook',
  'https://[::ffff:169.254.169.254]/hook',
  'https://[fc00::1]/hook',
  'https://[fd12:3456::1]/hook',
  'https://[fe80::1]/hook',
  'https://user:pass@example.com/hook',
];

const ALLOWED = [
  'https://example.com/hook',
  'https://hooks.example.com:8443/live?x=1',
  'https://8.8.8.8/hook',
  'https://172.32.0.1/hook',
  'https://[2606:4700::1111]/hook',
  'https://[::ffff:8.8.8.8]/hook',
];

describe('checkWebhookTarget', () => {
  it.each(REFUSED)('refuses %s in production', (url) => {
    expect(checkWebhookTarget(new URL(url), production).ok).toBe(false);
  });

  it.each(ALLOWED)('allows %s', (url) => {
    expect(checkWebhookTarget(new URL(url), production)).toEqual({ ok: true });
  });

  it('allows http and loopback in dev mode, but still not private or link-local addresses', () => {
    for (const url of [
      'http://127.0.0.1:9999/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'http://example.com/x',
    ]) {
      expect(checkWebhookTarget(new URL(url), dev), url).toEqual({ ok: true });
    }
    expect(checkWebhookTarget(new URL('http://10.0.0.1/hook'), dev).ok).toBe(false);
    expect(checkWebhookTarget(new URL('http://169.254.169.254/'), dev).ok).toBe(false);
  });

  it('names the reason', () => {
    expect(checkWebhookTarget(new URL('https://0x7f.0.0.1/'), production)).toEqual({
      ok: false,
      reason: '127.0.0.1 is a loopback address',
    });
    expect(checkWebhookTarget(new URL('http://example.com/'), production)).toEqual({
      ok: false,
      reason: 'webhook URLs must use https',
    });
  });
});

describe('POST /v1/webhooks target rules', () => {
  it('answers 422 problem+json for an internal address (the worker tests run in dev mode: loopback is allowed)', async () => {
    const problem = await expectProblem(
      await call('POST', '/v1/webhooks', { json: { url: 'https://192.168.0.10/hook' } }),
      422,
      'webhook-target-refused',
    );
    expect(problem.detail).toBe('192.168.0.10 is a private address');
    expect(problem.errors?.[0]?.field).toBe('url');
    const loopback = await call('POST', '/v1/webhooks', { json: { url: 'http://127.0.0.1:9/hook' } });
    expect(loopback.status).toBe(201);
    const { id } = (await loopback.json()) as { id: string };
    expect((await call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
  });
});
