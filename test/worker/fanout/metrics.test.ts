// GET /v1/metrics: the Worker's Prometheus text behind the API token, one set of figures per live stream, and
// health's `delivery` through the REST API.

import { SELF } from 'cloudflare:test';
import { expect, it, vi } from 'vitest';
import { call, createStream, ORIGIN } from '../api/client.ts';
import { bodyText, fixtureParts, putInit, putParts } from '../support/media.ts';

it('serves delivery, viewer and origin figures per live stream, only with the API token', async () => {
  expect((await call('GET', '/v1/metrics', { token: null })).status).toBe(401);
  const s = await createStream({ partTarget: 0.2, segmentTarget: 1 });
  const started = await call('POST', '/internal/v1/sessions', {
    json: { streamKey: s.streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:1', relayId: 'relay-test' },
  });
  expect(started.status).toBe(201);
  const { sessionId } = (await started.json()) as { sessionId: string };
  await putInit(s.id, sessionId);
  await putParts(s.id, sessionId, fixtureParts.slice(0, 3));
  const playlist = `${ORIGIN}/live/${s.id}/source/index.m3u8`;
  await bodyText(await SELF.fetch(playlist, { headers: { 'x-edge-live-region': 'weur' } }));
  await putParts(s.id, sessionId, fixtureParts.slice(3, 4)); // a push: the replica answers its figures

  await vi.waitFor(
    async () => {
      const health = (await (await call('GET', `/v1/streams/${s.id}/health`)).json()) as {
        delivery: { replicas: number; replicaRequestsPerSecond: Record<string, number> };
      };
      expect(health.delivery.replicas).toBe(1);
      expect(health.delivery.replicaRequestsPerSecond.weur).toBeGreaterThan(0);
    },
    { timeout: 3_000 },
  );
  const res = await call('GET', '/v1/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  expect(text).toContain('# TYPE edge_live_viewers gauge');
  expect(text).toContain(`edge_live_replicas{stream="${s.id}"} 1`);
  expect(text).toMatch(
    new RegExp(`edge_live_replica_requests_per_second\\{stream="${s.id}",region="weur"\\} [0-9.]+`),
  );
  expect(text).toMatch(
    new RegExp(`edge_live_stream_object_requests_per_second\\{stream="${s.id}"\\} [0-9.]+`),
  );
  expect(text).toContain('# TYPE edge_live_origin_playlists_total counter');
  for (const line of text.trim().split('\n')) {
    expect(line).toMatch(
      /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\} [0-9.e+-]+)$/,
    );
  }
});
