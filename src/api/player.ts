import { Hono } from 'hono';
import type { AppEnv } from './app-env.ts';
import { DASHBOARD_POLICY, playerPolicy } from './page-headers.ts';

/**
 * `GET /play/{streamId}`: the player page. One static HTML file for every stream (it reads the stream id from
 * its own path, and a signed stream's playback token from `?token=`), so the page is cached like any asset and
 * the Worker only maps the path. `Referrer-Policy: same-origin`: the page's requests to this origin name it (so
 * an allowedOrigins rule can match this origin), and its URL, token included, never goes to another site.
 * `GET /dashboard`: the operator's page, answered here too so it carries its own CSP (page-headers.ts).
 */
export const player = new Hono<AppEnv>();

async function page(c: { env: AppEnv['Bindings']; req: { url: string } }, file: string, csp: string) {
  const res = await c.env.ASSETS.fetch(new URL(file, c.req.url));
  return new Response(res.body, {
    status: res.status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'content-security-policy': csp,
      'referrer-policy': 'same-origin',
    },
  });
}

player.get('/play/:id', (c) => page(c, '/player.html', playerPolicy(c.env)));
player.get('/dashboard', (c) => page(c, '/dashboard.html', DASHBOARD_POLICY));
player.get('/dashboard.html', (c) => page(c, '/dashboard.html', DASHBOARD_POLICY));
