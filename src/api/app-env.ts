/**
 * The Hono environment every route is typed with: the Worker's bindings, and what the middleware sets
 * (`principal` on `/v1` routes, principal.ts; `relay` on `/internal` ones, relay-auth.ts). Apart from app.ts,
 * which mounts the routers, so that the routers do not import the file that imports them.
 */
import type { Env } from '../env.ts';
import type { PrincipalVars } from './middleware/principal.ts';
import type { RelayVars } from './middleware/relay-auth.ts';

export type AppEnv = { Bindings: Env; Variables: PrincipalVars & RelayVars };
