import { Hono } from 'hono';
import type { Env } from '../env.ts';

export function createApp() {
  const app = new Hono<{ Bindings: Env }>();
  // A trivial route: liveness, and the baseline the benchmarks compare our routes against.
  app.get('/healthz', (c) => c.text('ok'));
  return app;
}
