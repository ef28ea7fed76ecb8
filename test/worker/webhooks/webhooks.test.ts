// Webhook endpoints through the REST API, delivery with retries over the registry's real SQLite, and the
// stream object's events reaching the queue.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StreamRegistry } from '../../../src/registry/registry-do.ts';
import { SecretBox } from '../../../src/registry/secrets.ts';
import { deliverDue, MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../../src/webhooks/delivery.ts';
import { secretContext } from '../../../src/webhooks/endpoints.ts';
import { signWebhook } from '../../../src/webhooks/signature.ts';
import { type DueDelivery, WebhookStore } from '../../../src/webhooks/store.ts';
import { call } from '../api/client.ts';
import { startSession, streamStub } from '../support/media.ts';

const registry = () => env.REGISTRY.get(env.REGISTRY.idFromName('global'));

/** The store keeps secrets sealed (src/registry/secrets.ts); deliveries open them with the Worker's keyring. */
const openSecret = async (job: DueDelivery) =>
  (await SecretBox.fromEnv(env)).open(job.secret, secretContext(job.webhookId));

interface Created {
  id: string;
  url: string;
  events: string[];
  secret: string;
}

async function createHook(body: unknown): Promise<Created> {
  const res = await call('POST', '/v1/webhooks', { json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

afterEach(async () => {
  vi.restoreAllMocks();
  const res = await call('GET', '/v1/webhooks');
  const { webhooks } = (await res.json()) as { webhooks: { id: string }[] };
  for (const w of webhooks) await call('DELETE', `/v1/webhooks/${w.id}`);
});

describe('webhook API', () => {
  it('creates, lists without the secret, and deletes', async () => {
    const hook = await createHook({ url: 'https://hooks.test/a', events: ['stream.connected'] });
    expect(hook.secret).toMatch(/^whsec_/);
    expect(hook.events).toEqual(['stream.connected']);
    const list = (await (await call('GET', '/v1/webhooks')).json()) as {
      webhooks: Record<string, unknown>[];
    };
    expect(list.webhooks).toHaveLength(1);
    expect(list.webhooks[0]).not.toHaveProperty('secret');
    expect((await call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(404);
  });

  it('needs the API token and refuses bad input', async () => {
    expect((await call('GET', '/v1/webhooks', { token: null })).status).toBe(401);
    expect(
      (await call('POST', '/v1/webhooks', { token: 'wrong', json: { url: 'https://a.test' } })).status,
    ).toBe(401);
    for (const body of [
      { url: 'ftp://files.test/x' },
      { url: 'not a url' },
      { url: 'https://a.test', events: ['stream.exploded'] },
      { url: 'https://a.test', secret: 'mine' },
    ]) {
      expect((await call('POST', '/v1/webhooks', { json: body })).status).toBe(422);
    }
    expect((await call('DELETE', '/v1/webhooks/nope')).status).toBe(400);
  });

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await (await call('GET', '/v1/openapi.json', { token: null })).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/webhooks', '/webhooks/{id}']));
  });
});

describe('delivery', () => {
  it('retries with backoff until the receiver accepts, same id, fresh signature each time', async () => {
    const hook = await createHook({ url: 'https://receiver.test/hook' });
    await registry().enqueueWebhookEvent({
      id: 'evt_retry',
      type: 'stream.connected',
      createdAt: new Date().toISOString(),
      streamId: 'st_x',
      data: {},
    });
    const seen: { at: number; headers: Headers; body: string }[] = [];
    // The receiver: fails twice, then accepts.
    const receiver = async (_url: string, init: RequestInit) => {
      seen.push({ at: clock, headers: new Headers(init.headers), body: String(init.body) });
      return new Response(null, { status: seen.length < 3 ? 503 : 204 });
    };
    let clock = Date.now();
    await runInDurableObject(registry(), async (_o: StreamRegistry, state) => {
      const store = new WebhookStore(state.storage.sql);
      for (let i = 0; i < 10; i++) {
        const next = await deliverDue(store, receiver, () => clock, openSecret);
        if (next === null) break;
        clock = next;
      }
    });
    expect(seen).toHaveLength(3);
    expect(seen[1]!.at - seen[0]!.at).toBe(RETRY_DELAYS_MS[0]);
    expect(seen[2]!.at - seen[1]!.at).toBe(RETRY_DELAYS_MS[1]);
    for (const s of seen) {
      const ts = Number(s.headers.get('webhook-timestamp'));
      expect(s.headers.get('webhook-id')).toBe('evt_retry');
      expect(s.headers.get('webhook-signature')).toBe(
        await signWebhook(hook.secret, 'evt_retry', ts, s.body),
      );
    }
    const deliveries = (await (await call('GET', `/v1/webhooks/${hook.id}/deliveries`)).json()) as {
      deliveries: { status: string; attempts: number }[];
    };
    expect(deliveries.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('gives up after the last attempt', async () => {
    const hook = await createHook({ url: 'https://down.test/hook' });
    await registry().enqueueWebhookEvent({
      id: 'evt_down',
      type: 'stream.disconnected',
      createdAt: new Date().toISOString(),
      streamId: 'st_x',
      data: {},
    });
    let calls = 0;
    let clock = Date.now();
    await runInDurableObject(registry(), async (_o: StreamRegistry, state) => {
      const store = new WebhookStore(state.storage.sql);
      for (let i = 0; i < 20; i++) {
        const next = await deliverDue(
          store,
          async () => {
            calls++;
            throw new Error('connection refused');
          },
          () => clock,
          openSecret,
        );
        if (next === null) break;
        clock = next;
      }
    });
    expect(calls).toBe(MAX_ATTEMPTS);
    const deliveries = (await (await call('GET', `/v1/webhooks/${hook.id}/deliveries`)).json()) as {
      deliveries: { status: string; lastError: string }[];
    };
    expect(deliveries.deliveries[0]).toMatchObject({ status: 'failed', lastError: 'connection refused' });
  });

  it('delivers stream.connected from a session start through the registry alarm, filtered by type', async () => {
    const hook = await createHook({ url: 'https://receiver.test/connected', events: ['stream.connected'] });
    const received: { url: string; body: string; headers: Headers }[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      received.push({ url: String(input), body: String(init?.body), headers: new Headers(init?.headers) });
      return new Response('ok');
    });
    await startSession('st_hook_events', 'sess_hook_1');
    await streamStub('st_hook_events').endSession('sess_hook_1', 'encoder disconnected');
    // The stream object hands events off without waiting; give the enqueue RPCs a moment to land.
    await vi.waitFor(async () =>
      expect((await call('GET', `/v1/webhooks/${hook.id}/deliveries`)).ok).toBe(true),
    );
    await vi.waitFor(async () => {
      await runDurableObjectAlarm(registry());
      expect(received.length).toBeGreaterThan(0);
    });
    expect(received).toHaveLength(1);
    const event = JSON.parse(received[0]!.body) as {
      type: string;
      streamId: string;
      data: unknown;
    };
    expect(received[0]!.url).toBe('https://receiver.test/connected');
    expect(event).toMatchObject({
      type: 'stream.connected',
      streamId: 'st_hook_events',
      data: { input: { sessionId: 'sess_hook_1' } },
    });
    const ts = Number(received[0]!.headers.get('webhook-timestamp'));
    const id = received[0]!.headers.get('webhook-id') ?? '';
    expect(received[0]!.headers.get('webhook-signature')).toBe(
      await signWebhook(hook.secret, id, ts, received[0]!.body),
    );
  });
});

describe('stream.errored', () => {
  it('is sent once for a keyframe interval out of range in the relay health reports', async () => {
    await createHook({ url: 'https://receiver.test/errored', events: ['stream.errored'] });
    const received: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
      received.push(String(init?.body));
      return new Response(null, { status: 204 });
    });
    await startSession('st_hook_alerts', 'sess_alert_1');
    const report = {
      at: Date.now(),
      protocol: 'rtmp' as const,
      remoteAddress: '127.0.0.1:1',
      ingestBitrate: 900_000,
      video: { codec: 'avc1.64001f', bitrate: 800_000, frameRate: 30, keyframeInterval: 8 },
      uploadRetries: 0,
      partsGivenUp: 0,
    };
    for (let i = 0; i < 3; i++)
      expect(await streamStub('st_hook_alerts').reportHealth('sess_alert_1', report)).toBe(true);
    const health = await streamStub('st_hook_alerts').getHealth();
    expect(health.monitoring?.alerts.active).toEqual(['keyframe-interval-out-of-range']);
    await vi.waitFor(async () => {
      await runDurableObjectAlarm(registry());
      expect(received.length).toBeGreaterThan(0);
    });
    await runDurableObjectAlarm(registry());
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0] as string)).toMatchObject({
      type: 'stream.errored',
      streamId: 'st_hook_alerts',
      data: { code: 'keyframe-interval-out-of-range', sessionId: 'sess_alert_1' },
    });
  });
});
