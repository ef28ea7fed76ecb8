/**
 * What a webhook receives: `{id, type, createdAt, streamId, data}` as the JSON body, signed (signature.ts).
 * `id` is the Standard Webhooks `webhook-id`: the same on every retry of one event, so receivers can dedupe.
 */
import { hex } from '../registry/ids.ts';

export const WEBHOOK_EVENT_TYPES = [
  'stream.connected',
  'stream.disconnected',
  'stream.errored',
  'stream.failover',
  'stream.ended',
  /** A recording is ready (its event's ENDLIST): `data.recordingId`, `data.eventId`. */
  'recording.ready',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  /** `evt_` + random; the `webhook-id` header. */
  id: string;
  type: WebhookEventType;
  /** ISO 8601. */
  createdAt: string;
  streamId: string;
  data: Record<string, unknown>;
}

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

export function newWebhookEvent(
  type: WebhookEventType,
  streamId: string,
  data: Record<string, unknown>,
  now: number,
): WebhookEvent {
  const random = crypto.getRandomValues(new Uint8Array(12));
  const id = `evt_${hex(random)}`;
  return { id, type, createdAt: new Date(now).toISOString(), streamId, data };
}
