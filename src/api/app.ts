import { Hono } from 'hono';
import { except } from 'hono/combine';
import { redactViewerPath } from '../contract/playback.ts';
import type { AppEnv } from './app-env.ts';
import { ApiError, problemResponse } from './errors.ts';
import { ingestMedia } from './ingest.ts';
import { ingestSessions } from './ingest-sessions.ts';
import { limitBody } from './middleware/body-limit.ts';
import { authenticate } from './middleware/principal.ts';
import { authenticateRelay } from './middleware/relay-auth.ts';
import { apiErrorFromHttpException } from './middleware/validation.ts';
import { noSniff } from './page-headers.ts';
import { playback } from './playback.ts';
import { viewerAccess } from './playback-access.ts';
import { player } from './player.ts';
import { qoe } from './qoe.ts';
import { streams } from './streams.ts';
import { vod } from './vod.ts';

/**
 * Three faces on one app: the developer REST API (`/v1`, bearer API_TOKEN or an API key with scopes), the
 * relay's internal API (`/internal/v1`, bearer INGEST_TOKEN or a relay credential) and the public viewer
 * routes (`/live`, `/play`).
 */
export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(noSniff());

  // A trivial route: liveness, and the baseline the benchmarks compare our routes against.
  app.get('/healthz', (c) => c.text('ok'));

  app.use('/internal/*', authenticateRelay());
  app.route('/internal/v1', ingestSessions);
  app.route('/internal/v1', ingestMedia);

  // The OpenAPI document is public (it describes the API, holds no data); everything else needs a key, and
  // each route the scope it names (middleware/scopes.ts).
  app.use('/v1/*', except('/v1/openapi.json', authenticate()));
  app.use('/v1/*', limitBody());
  app.route('/v1', streams);
  // Every viewer route passes the access check before any cache (src/api/playback-access.ts).
  app.use('/live/*', viewerAccess());
  app.route('/', qoe);
  app.route('/', playback);
  app.route('/', player);
  app.route('/', vod);

  app.notFound((c) =>
    problemResponse(
      c,
      new ApiError(404, 'not-found', `no route for ${c.req.method} ${redactViewerPath(c.req.path)}`),
    ),
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) return problemResponse(c, err);
    const clientError = apiErrorFromHttpException(err);
    if (clientError) return problemResponse(c, clientError);
    console.error('unhandled error', c.req.method, redactViewerPath(c.req.path), err);
    return problemResponse(c, new ApiError(500, 'internal', 'internal error'));
  });
  return app;
}
