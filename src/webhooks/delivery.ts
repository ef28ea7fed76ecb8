/**
 * One delivery attempt and the retry schedule. Standard Webhooks ("Retry schedule"): retry with exponential
 * backoff; every attempt carries the same `webhook-id` and a fresh timestamp and signature. Five attempts over
 * about a minute (0, 2, 6, 18, 54 s after the event) ride out a receiver's restart without queueing for hours.
 */
import { webhookHeaders } from './signature.ts';
import type { DeliveryStatus, DueDelivery, WebhookStore } from './store.ts';

/** Delay before attempt n+1 after n failed attempts, ms; its length + 1 is the attempt budget. */
export const RETRY_DELAYS_MS = [2_000, 4_000, 12_000, 36_000] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
/**
 * A receiver that takes longer than this is counted as failed (and retried). Standard Webhooks expects a
 * receiver to answer quickly and work later; a short bound also limits how long a slow target holds the
 * registry's alarm (issue 16: cut from 10 s).
 */
export const ATTEMPT_TIMEOUT_MS = 3_000;
/** Deliveries sent per alarm run; the rest wait for the next run (scheduled at once). */
const BATCH = 25;

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export interface AttemptResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** `secret` is the signing secret in the clear (the store keeps it sealed; endpoints.ts opens it). */
export async function attemptDelivery(
  job: DueDelivery,
  secret: string,
  fetcher: Fetcher,
  now: number,
): Promise<AttemptResult> {
  const headers = await webhookHeaders(secret, job.eventId, Math.floor(now / 1000), job.body);
  try {
    const res = await fetcher(job.url, {
      method: 'POST',
      headers,
      body: job.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    // Read (and discard) the body so the connection is released.
    await res.arrayBuffer().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, httpStatus: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    return {
      ok: false,
      httpStatus: null,
      error: (err instanceof Error ? err.message : String(err)).slice(0, 200),
    };
  }
}

/** What to store after attempt number `attempts` (1-based) ended with `ok`. */
export function nextAfter(
  attempts: number,
  ok: boolean,
  now: number,
): { status: DeliveryStatus; nextAt: number | null } {
  if (ok) return { status: 'delivered', nextAt: null };
  const delay = RETRY_DELAYS_MS[attempts - 1];
  return delay === undefined
    ? { status: 'failed', nextAt: null }
    : { status: 'pending', nextAt: now + delay };
}

/** Sends every due delivery (up to a batch) and returns when the next one is due, or null. */
export async function deliverDue(
  store: WebhookStore,
  fetcher: Fetcher,
  now: () => number,
  openSecret: (job: DueDelivery) => Promise<string>,
): Promise<number | null> {
  const jobs = store.due(now(), BATCH);
  const results = await Promise.all(
    jobs.map(async (job): Promise<AttemptResult> => {
      let secret: string;
      try {
        secret = await openSecret(job);
      } catch (err) {
        // A secret sealed by a key no longer configured: unsignable, so never sent (and never unsigned).
        return {
          ok: false,
          httpStatus: null,
          error: `signing secret unavailable: ${String(err)}`.slice(0, 200),
        };
      }
      return attemptDelivery(job, secret, fetcher, now());
    }),
  );
  jobs.forEach((job, i) => {
    const result = results[i] as AttemptResult;
    const attempts = job.attempts + 1;
    const t = now();
    store.settle(
      job.seq,
      { attempts, ...nextAfter(attempts, result.ok, t), httpStatus: result.httpStatus, error: result.error },
      t,
    );
  });
  if (jobs.length > 0) store.pruneFinished();
  return store.nextDue();
}
