/**
 * The media path's only contact with webhooks: hand an event to the registry's queue and move on. The RPC
 * only inserts rows (src/webhooks/endpoints.ts); it is not awaited by the caller, and a failure is logged,
 * never thrown into part uploads or health reports.
 */
import type { Env } from '../env.ts';
import { registryStub } from '../registry/registry-do.ts';
import type { StreamNotice } from '../stream/notices.ts';
import { newWebhookEvent, type WebhookEventType } from './events.ts';

export function notifyWebhooks(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  type: WebhookEventType,
  streamId: string,
  data: Record<string, unknown>,
): void {
  const event = newWebhookEvent(type, streamId, data, Date.now());
  waitUntil(
    registryStub(env)
      .enqueueWebhookEvent(event)
      .catch((err: unknown) => console.warn('webhook enqueue failed', type, streamId, String(err))),
  );
}

/** A stream notice's payload for the webhook `data` field: everything but what the envelope already says. */
export function webhookData(notice: StreamNotice): Record<string, unknown> {
  const { type: _type, streamId: _streamId, at: _at, ...data } = notice;
  return data;
}
