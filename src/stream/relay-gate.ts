/**
 * Relay revocation where uploads land (issue 16): before a session's init, part or health report is taken,
 * the stream object asks whether the session's relay credential still exists. Answers are cached for at most
 * CREDENTIAL_CACHE_MS of the object's clock, so a live session costs one registry call per few seconds, and a
 * revoked relay's uploads fail within 10 s of the revocation; the object then ends its session with a reason.
 * A relay on an issued credential may only act on sessions that credential started.
 */
import { CREDENTIAL_CACHE_MS, LookupCache } from '../auth/lookup-cache.ts';
import type { SessionInfo } from './model.ts';

export type GateVerdict =
  | { ok: true }
  | { ok: false; kind: 'revoked'; reason: string }
  | { ok: false; kind: 'foreign'; reason: string };

/** The uploading relay as the Worker authenticated it (src/api/middleware/relay-auth.ts). */
export interface GateCaller {
  /** Null: the shared INGEST_TOKEN, which may act on any session. */
  credentialId: string | null;
  /** The Worker found the credential revoked: no need to ask the registry. */
  revoked?: boolean;
}

export class RelayGate {
  readonly #active = new LookupCache<boolean>(CREDENTIAL_CACHE_MS, 100);
  readonly #isActive: (credentialId: string) => Promise<boolean>;

  constructor(isActive: (credentialId: string) => Promise<boolean>) {
    this.#isActive = isActive;
  }

  /** `caller` undefined: not told (internal callers). `now`: the object's clock, epoch ms. */
  async check(session: SessionInfo, caller: GateCaller | undefined, now: number): Promise<GateVerdict> {
    const owner = session.relayCredential ?? null;
    if (caller?.credentialId && caller.credentialId !== owner) {
      return { ok: false, kind: 'foreign', reason: `session ${session.id} belongs to another relay` };
    }
    if (owner === null) return { ok: true };
    if (caller?.revoked) this.#active.set(owner, false, now);
    let active = this.#active.get(owner, now);
    if (active === undefined) {
      active = await this.#isActive(owner);
      this.#active.set(owner, active, now);
    }
    return active
      ? { ok: true }
      : { ok: false, kind: 'revoked', reason: `relay credential ${owner} was revoked` };
  }
}
