/**
 * Which replica a viewer request goes to: its region (from `request.cf` in production; in dev mode only, the
 * `x-edge-live-region` header, so tests and benchmarks can act as several regions) and its shard within the
 * region (a hash of the isolate, when one replica would pass its request ceiling, shards.ts). Pure.
 */

/**
 * Durable Object location hints (Cloudflare's nine regions, "Data location" docs). A replica named after one is
 * created with that hint, so it lives near the PoPs that ask it.
 */
export const LOCATION_HINTS = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

/** The region of a request with no location at all (the local runtime without the dev header). */
export const LOCAL_REGION = 'local';

/** The request header that picks the region in dev mode (DESIGN.md, Interfaces). */
export const REGION_HEADER = 'x-edge-live-region';

/** A region name a dev header may give: short, lowercase, safe inside a Durable Object name. */
const REGION_NAME = /^[a-z0-9-]{1,32}$/;

/** Countries Cloudflare's `me` hint serves, though `cf.continent` says AS (or AF for Egypt). */
const MIDDLE_EAST = new Set([
  'AE',
  'BH',
  'EG',
  'IL',
  'IQ',
  'IR',
  'JO',
  'KW',
  'LB',
  'OM',
  'PS',
  'QA',
  'SA',
  'SY',
  'TR',
  'YE',
]);

/** The `request.cf` fields the region depends on. */
export interface CfLocation {
  continent?: string;
  country?: string;
  longitude?: string;
}

/**
 * The location hint for a request's origin: continent first, split by longitude where a continent spans two
 * hints (North America at -100 degrees, Europe at 20 degrees east), the Middle East by country.
 */
export function regionFromCf(cf: CfLocation | undefined): string {
  if (!cf?.continent) return LOCAL_REGION;
  if (cf.country && MIDDLE_EAST.has(cf.country)) return 'me';
  const longitude = Number(cf.longitude);
  switch (cf.continent) {
    case 'NA':
      return Number.isFinite(longitude) && longitude < -100 ? 'wnam' : 'enam';
    case 'SA':
      return 'sam';
    case 'EU':
      return Number.isFinite(longitude) && longitude > 20 ? 'eeur' : 'weur';
    case 'AF':
      return 'afr';
    case 'OC':
      return 'oc';
    case 'AS':
      return 'apac';
    default:
      return LOCAL_REGION;
  }
}

/**
 * The region a viewer request belongs to. `devMode` is the DEV_MODE variable being `1` (npm start writes it to
 * .dev.vars): only then may the header choose, so a production viewer cannot pick a far replica.
 */
export function requestRegion(
  headers: Headers,
  cf: CfLocation | undefined,
  devMode: boolean,
): { region: string; locationHint: LocationHint | undefined } {
  const asked = devMode ? headers.get(REGION_HEADER)?.trim().toLowerCase() : undefined;
  const region = asked && REGION_NAME.test(asked) ? asked : regionFromCf(cf);
  return { region, locationHint: asLocationHint(region) };
}

export function asLocationHint(region: string): LocationHint | undefined {
  return (LOCATION_HINTS as readonly string[]).includes(region) ? (region as LocationHint) : undefined;
}

/** One replica of one stream: a region and a shard within it. */
export interface ReplicaRef {
  streamId: string;
  region: string;
  shard: number;
}

/** The replica's Durable Object name: unique per stream, region and shard. */
export function replicaName(ref: ReplicaRef): string {
  return `${ref.streamId}/${ref.region}/${ref.shard}`;
}
