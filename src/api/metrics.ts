/**
 * `GET /v1/metrics` (scope `metrics:read`): the Worker's Prometheus text, one set of figures per live
 * stream, asked of each live stream's object (one call per stream per scrape; the registry says which are
 * live). Viewer routes never count toward it: their figures reach the objects through the replicas.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamObject } from '../env.ts';
import type { DeliveryFigures } from '../fanout/delivery.ts';
import { renderMetrics, type StreamFigures } from '../monitoring/prometheus.ts';
import type { MonitoringHealth } from '../monitoring/stream-monitor.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { AppEnv } from './app-env.ts';
import { requireScope } from './middleware/scopes.ts';
import { problem, security } from './openapi.ts';

export const metrics = new OpenAPIHono<AppEnv>();

/** Registry pages read per scrape (100 streams each): bounds a scrape of a very large catalogue. */
const MAX_PAGES = 20;

// Its own scope, so a Prometheus scraper's credential reads figures and nothing else.
const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  security,
  middleware: requireScope('metrics:read'),
  description:
    'Scope: `metrics:read`. Prometheus text exposition (version 0.0.4) of every live stream: viewers, ' +
    'requests and bytes delivered, origin lag. Streams whose object cannot be reached are left out of the scrape.',
  responses: {
    200: {
      description: 'The figures, one set per live stream.',
      content: { 'text/plain; version=0.0.4': { schema: z.string() } },
    },
    401: problem('Missing or wrong bearer token.'),
    403: problem('The API key lacks the scope metrics:read.'),
  },
});

metrics.openapi(metricsRoute, async (c) => {
  const live: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { streams, nextCursor } = await registryStub(c.env).list(100, cursor);
    for (const s of streams) if (s.status === 'live') live.push(s.id);
    if (!nextCursor) break;
    cursor = nextCursor;
  }
  const figures = await Promise.all(
    live.map(async (streamId): Promise<StreamFigures | null> => {
      try {
        const health = (await streamObject(c.env, streamId).getHealth()) as {
          delivery: DeliveryFigures;
          monitoring?: MonitoringHealth;
        };
        return { streamId, delivery: health.delivery, origin: health.monitoring?.origin ?? null };
      } catch (err) {
        console.warn('metrics: stream object unreachable', streamId, String(err));
        return null;
      }
    }),
  );
  return c.text(renderMetrics(figures.filter((f) => f !== null)), 200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'cache-control': 'no-store',
  });
});
