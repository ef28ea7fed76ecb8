/**
 * The registry Durable Object's webhook side: endpoint CRUD, and a queue drained by the object's alarm. Only
 * `enqueue` is called from the media path (by a stream's object, fire-and-forget): it inserts rows and arms
 * the alarm, and every network call happens later in `deliver`, on the alarm.
 */
import { hex } from '../registry/ids.ts';
import { isSealed, type SecretBox } from '../registry/secrets.ts';
import { deliverDue, type Fetcher } from './delivery.ts';
import type { WebhookEvent, WebhookEventType } from './events.ts';
import { generateWebhookSecret } from './signature.ts';
import { type DeliveryRecord, MAX_WEBHOOKS, type WebhookRecord, WebhookStore } from './store.ts';

export interface NewWebhook {
  url: string;
  events: WebhookEventType[];
}

export type CreateWebhookResult =
  | { ok: true; webhook: WebhookRecord; secret: string }
  | { ok: false; code: 'too-many'; detail: string };

/** GCM additional data of a webhook's sealed secret: it opens only on its own row. */
export const secretContext = (webhookId: string) => `webhook-secret:${webhookId}`;

function newWebhookId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return `wh_${hex(bytes)}`;
}

export class WebhookEndpoints {
  readonly #ctx: DurableObjectState;
  readonly #store: WebhookStore;
  readonly #fetcher: Fetcher;
  /** The registry's keyring (secrets.ts): signing secrets are stored sealed, opened for each delivery. */
  readonly #box: () => SecretBox;

  constructor(
    ctx: DurableObjectState,
    sql: SqlStorage,
    box: () => SecretBox,
    fetcher: Fetcher = (url, init) => fetch(url, init),
  ) {
    this.#ctx = ctx;
    this.#store = new WebhookStore(sql);
    this.#box = box;
    this.#fetcher = fetcher;
  }

  /**
   * On load: seals secrets stored in the clear before issue 16, and reseals those of a rotated-out key.
   * Without SECRETS_KEY nothing can be sealed, and plaintext ones stay (and still sign) until one is set.
   */
  async sealStoredSecrets(): Promise<void> {
    const box = this.#box();
    if (!box.canSeal) return;
    for (const { id, secret } of this.#store.secrets()) {
      if (isSealed(secret) && !box.needsReseal(secret)) continue;
      try {
        const plain = isSealed(secret) ? await box.open(secret, secretContext(id)) : secret;
        this.#store.setSecret(id, await box.seal(plain, secretContext(id)));
      } catch (err) {
        console.error('webhooks: cannot reseal the secret of', id, String(err));
      }
    }
  }

  async create(input: NewWebhook): Promise<CreateWebhookResult> {
    if (this.#store.count() >= MAX_WEBHOOKS) {
      return { ok: false, code: 'too-many', detail: `at most ${MAX_WEBHOOKS} webhooks per account` };
    }
    const webhook: WebhookRecord = {
      id: newWebhookId(),
      url: input.url,
      events: [...new Set(input.events)],
      createdAt: Date.now(),
    };
    const secret = generateWebhookSecret();
    this.#store.create(webhook, await this.#box().seal(secret, secretContext(webhook.id)));
    return { ok: true, webhook, secret };
  }

  list(): WebhookRecord[] {
    return this.#store.list();
  }

  delete(id: string): boolean {
    return this.#store.delete(id);
  }

  deliveries(id: string): DeliveryRecord[] | null {
    return this.#store.get(id) ? this.#store.deliveries(id) : null;
  }

  async enqueue(event: WebhookEvent, now: number): Promise<number> {
    const queued = this.#store.enqueue(event, now);
    if (queued > 0) await this.#arm(now);
    return queued;
  }

  /** The alarm: send what is due, then re-arm for the next retry. */
  async deliver(): Promise<void> {
    const box = this.#box();
    const open = (job: { webhookId: string; secret: string }) =>
      isSealed(job.secret) ? box.open(job.secret, secretContext(job.webhookId)) : Promise.resolve(job.secret);
    const next = await deliverDue(this.#store, this.#fetcher, Date.now, open);
    if (next !== null) await this.#ctx.storage.setAlarm(Math.max(next, Date.now()));
  }

  async #arm(at: number): Promise<void> {
    const current = await this.#ctx.storage.getAlarm();
    if (current === null || current > at) await this.#ctx.storage.setAlarm(at);
  }
}
