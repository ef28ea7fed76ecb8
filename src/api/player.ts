import { Hono } from 'hono';
import type { AppEnv } from './app.ts';

/**
 * `GET /play/{streamId}`: the player page. One static HTML file for every stream (it reads the stream id from
 * its own path, and a signed stream's playback token from `?token=`), so the page is cached like any asset and
 * the Worker only maps the path. `Referrer-Policy: same-origin`: the page's requests to this origin name it (so
 * an allowedOrigins rule can match this origin), and its URL, token included, never goes to another site.
 */
export const player = new Hono<AppEnv>();

player.get('/play/:id', async (c) => {
  const res = await c.env.ASSETS.fetch(new URL('/player.html', c.req.url));
  return new Response(res.body, {
    status: res.status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'referrer-policy': 'same-origin',
    },
  });
});
