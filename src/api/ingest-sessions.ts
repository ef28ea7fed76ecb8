import { Hono } from 'hono';
import type { AppEnv } from './app.ts';

// Placeholder router: replaced by the real routes.
export const ingestSessions = new Hono<AppEnv>();
