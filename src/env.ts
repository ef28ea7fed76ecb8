import type { StreamReplica } from './fanout/replica-do.ts';
import type { StreamRegistry } from './registry/registry-do.ts';
import type { StreamDO } from './stream/stream-do.ts';

/** Bindings and variables of the Worker (wrangler.toml, `.dev.vars`, secrets). */
export interface Env {
  /** Media bytes: init segments and parts, under session-unique keys (src/media/keys.ts). */
  MEDIA: R2Bucket;
  /** One Durable Object per stream: the single writer of its live state. */
  STREAM: DurableObjectNamespace<StreamDO>;
  /**
   * Per stream, region and shard: a replica that keeps its region's waiters and renders their playlists, fed
   * one push per part by the stream's object (src/fanout/).
   */
  REPLICA: DurableObjectNamespace<StreamReplica>;
  /** One Durable Object for the stream catalogue: records, key lookup, pagination. */
  REGISTRY: DurableObjectNamespace<StreamRegistry>;
  /** Static files under public/ (player, dashboard, hls.js). */
  ASSETS: Fetcher;
  /** The bootstrap admin key of the developer REST API: every scope (src/auth/scopes.ts). */
  API_TOKEN: string;
  /**
   * The local default relay credential on /internal routes; relays issued their own (`POST /v1/relays`) use
   * that instead, and only those are revocable one by one.
   */
  INGEST_TOKEN: string;
  /**
   * Seals SRT passphrases and webhook secrets at rest (AES-256-GCM, src/registry/secrets.ts); any high-entropy
   * text, e.g. `openssl rand -base64 32`. `npm start` generates one into .dev.vars.
   */
  SECRETS_KEY?: string;
  /** Keys replaced by a rotation (comma-separated): they only open what they sealed, which is resealed on load. */
  SECRETS_KEY_PREVIOUS?: string;
  /**
   * CSP `frame-ancestors` of the player page (src/api/page-headers.ts): who may embed it. Default `*`, since
   * customers embed the player; e.g. `'self' https://www.example.com`.
   */
  PLAYER_FRAME_ANCESTORS?: string;
  /** Public origin for playback URLs, e.g. `https://live.example.com`; empty: the request's origin. */
  PUBLIC_BASE_URL: string;
  /** Base ingest URLs handed out by the API; the stream key (or streamid) is appended. Empty: not offered. */
  RTMP_INGEST_URL: string;
  RTMPS_INGEST_URL: string;
  SRT_INGEST_URL: string;
  /**
   * `1` on a developer machine (`npm start` writes it to .dev.vars): the `x-edge-live-region` header may pick
   * the replica region, so tests and benchmarks act as several regions, and webhooks may target http and
   * loopback addresses (src/webhooks/target.ts). Unset in production.
   */
  DEV_MODE?: string;
  /** Requests a second one replica may take before its region shards (default 500, src/fanout/shards.ts). */
  REPLICA_CEILING?: string;
  /** `1` only in the worker tests (vitest.config.ts): lets them step a stream object's clock. */
  TEST_CLOCK?: string;
}

/** The stream's one Durable Object (named by its id). */
export function streamObject(env: Pick<Env, 'STREAM'>, streamId: string) {
  return env.STREAM.get(env.STREAM.idFromName(streamId));
}
