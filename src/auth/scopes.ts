/**
 * The scopes of an API key (issue 16). The bootstrap `API_TOKEN` holds all of them. A key never makes a key
 * wider than itself, and every `/v1` route names the one scope it needs (src/api/middleware/scopes.ts).
 */
export const SCOPES = [
  'streams:read',
  'streams:write',
  'playback:sign',
  'recordings:read',
  'recordings:write',
  'webhooks:write',
  'keys:write',
  'metrics:read',
] as const;

export type Scope = (typeof SCOPES)[number];

/** What each scope allows, for the OpenAPI document and the README. */
export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'streams:read': 'list and read streams, their health',
  'streams:write': 'create, update, delete streams; rotate stream keys',
  'playback:sign': 'mint playback tokens, revoke a stream’s tokens',
  'recordings:read': 'list and read recordings',
  'recordings:write': 'delete recordings, make clips',
  'webhooks:write': 'create, list, delete webhooks and read their deliveries',
  'keys:write': 'create, list, revoke API keys, signing keys and relay credentials',
  'metrics:read': 'scrape GET /v1/metrics (Prometheus text)',
};

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Known scopes of a stored list, deduplicated, in the canonical order. */
export function normalizeScopes(value: unknown): Scope[] {
  const given = Array.isArray(value) ? value : [];
  return SCOPES.filter((s) => given.includes(s));
}

/** The scopes of `wanted` that `held` lacks: a key may only make keys within its own scopes. */
export function missingScopes(held: readonly Scope[], wanted: readonly Scope[]): Scope[] {
  return wanted.filter((s) => !held.includes(s));
}
