/**
 * What an edge isolate knows of the registry for viewer requests: the signing keys, and per stream its
 * playback policy and token generation. Each is loaded at most once per KNOWLEDGE_MAX_AGE_MS per isolate (one
 * key-set call covers every kid, known or not), so a revocation, a policy change or a new key reaches every
 * isolate within REVOCATION_BOUND_MS, and a viewer request never costs a registry call of its own.
 */
import { importJWK } from 'jose';
import type { Env } from '../env.ts';
import { STREAM_ID_PATTERN } from '../registry/ids.ts';
import { type PlaybackAccess, registryStub } from '../registry/registry-do.ts';
import { TtlCache } from './ttl-cache.ts';
import type { EdgeKeySet, ImportedKey } from './verify.ts';

/** The documented bound: a revoked key or generation, or a changed policy, is enforced within this, ms. */
export const REVOCATION_BOUND_MS = 10_000;
/** Kept for less than the bound, leaving a second for the registry call that refreshes it. */
export const KNOWLEDGE_MAX_AGE_MS = REVOCATION_BOUND_MS - 1_000;

/**
 * What an isolate knows of a stream's access. `gone`: an id of the registry's own form that the registry does
 * not hold, a stream deleted (or never made): refused at the edge within the bound, media included, while its
 * stream object sweeps the media from R2 (src/stream/sweep-queue.ts).
 */
export type EdgeStreamAccess = PlaybackAccess & { gone: boolean };

/** An id the registry cannot have made (tests' object names): public, never revoked, the object decides. */
const UNLISTED: EdgeStreamAccess = { policy: 'public', generation: 0, revokedAt: 0, gone: false };
const GONE: EdgeStreamAccess = { ...UNLISTED, gone: true };

const keySets = new TtlCache<EdgeKeySet>({ maxAgeMs: KNOWLEDGE_MAX_AGE_MS, maxEntries: 1 });
const streamAccess = new TtlCache<EdgeStreamAccess>({ maxAgeMs: KNOWLEDGE_MAX_AGE_MS, maxEntries: 10_000 });

export function edgeKeySet(env: Env, now: number): Promise<EdgeKeySet> {
  return keySets.get('keys', now, async () => {
    const listed = await registryStub(env).verificationKeys();
    const keys = new Map<string, ImportedKey>();
    for (const k of listed.keys) {
      try {
        keys.set(k.id, {
          algorithm: k.algorithm,
          key: (await importJWK(k.publicJwk, k.algorithm)) as CryptoKey,
        });
      } catch (err) {
        // One damaged key must not take the others down; its tokens then read as signed by an unknown key.
        console.warn('signing key not importable', k.id, String(err));
      }
    }
    return { keys, revoked: new Set(listed.revoked) };
  });
}

/**
 * The stream's policy and generation. Ids the registry cannot have made (tests' object names) are public
 * without a call, so junk ids in URLs do not reach the registry either.
 */
export function edgeStreamAccess(env: Env, streamId: string, now: number): Promise<EdgeStreamAccess> {
  if (!STREAM_ID_PATTERN.test(streamId)) return Promise.resolve(UNLISTED);
  return streamAccess.get(streamId, now, async () => {
    const access = await registryStub(env).playbackAccess(streamId);
    return access ? { ...access, gone: false } : GONE;
  });
}

/** After this isolate changed keys: its own next request sees the change (others within the bound). */
export function forgetKeySet(): void {
  keySets.invalidate('keys');
}

/** After this isolate changed a stream's policy or generation. */
export function forgetStreamAccess(streamId: string): void {
  streamAccess.invalidate(streamId);
}
