/**
 * Webhook endpoints and their delivery queue, in the registry Durable Object's SQLite (account-wide, like the
 * stream catalogue). A delivery row is one event for one endpoint; it stays `pending` with a `next_at` until it
 * is delivered or runs out of attempts, and the last rows per endpoint are kept for `GET .../deliveries`.
 */
import { isWebhookEventType, type WebhookEvent, type WebhookEventType } from './events.ts';

export const WEBHOOKS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    -- sealed with SECRETS_KEY (src/registry/secrets.ts); rows from before issue 16 are sealed on load
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER,
    status TEXT NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_at);
`;

/** Endpoints per account: enough for several receivers, small enough that fan-out stays cheap. */
export const MAX_WEBHOOKS = 20;
/** Finished delivery rows kept per endpoint, for inspection. */
const KEEP_FINISHED = 50;

export interface WebhookRecord {
  id: string;
  url: string;
  /** Event types delivered; empty: every type. */
  events: WebhookEventType[];
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  webhookId: string;
  eventId: string;
  eventType: string;
  attempts: number;
  status: DeliveryStatus;
  /** Epoch ms of the next attempt while pending. */
  nextAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  updatedAt: number;
}

/** A due delivery with what an attempt needs. */
export interface DueDelivery {
  seq: number;
  webhookId: string;
  url: string;
  /** As stored: sealed (src/registry/secrets.ts). */
  secret: string;
  eventId: string;
  body: string;
  attempts: number;
}

type WebhookRow = { id: string; url: string; events: string; secret: string; created_at: number };
type DeliveryRow = {
  seq: number;
  webhook_id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  next_at: number | null;
  status: string;
  last_status: number | null;
  last_error: string | null;
  updated_at: number;
};

function parseEvents(text: string): WebhookEventType[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed)
      ? parsed.filter((e): e is WebhookEventType => isWebhookEventType(String(e)))
      : [];
  } catch {
    return [];
  }
}

function toRecord(row: WebhookRow): WebhookRecord {
  return { id: row.id, url: row.url, events: parseEvents(row.events), createdAt: row.created_at };
}

export class WebhookStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(WEBHOOKS_SCHEMA);
  }

  count(): number {
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks').one().n;
  }

  create(record: WebhookRecord, secret: string): void {
    this.#sql.exec(
      'INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)',
      record.id,
      record.url,
      JSON.stringify(record.events),
      secret,
      record.createdAt,
    );
  }

  list(): WebhookRecord[] {
    return this.#sql
      .exec<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id')
      .toArray()
      .map(toRecord);
  }

  get(id: string): WebhookRecord | null {
    const row = this.#sql.exec<WebhookRow>('SELECT * FROM webhooks WHERE id = ?', id).toArray()[0];
    return row ? toRecord(row) : null;
  }

  /** Every endpoint's stored (sealed) secret: for resealing after a key rotation. */
  secrets(): { id: string; secret: string }[] {
    return this.#sql.exec<{ id: string; secret: string }>('SELECT id, secret FROM webhooks').toArray();
  }

  setSecret(id: string, secret: string): void {
    this.#sql.exec('UPDATE webhooks SET secret = ? WHERE id = ?', secret, id);
  }

  /** Removes the endpoint and its queue: nothing more is sent to it. */
  delete(id: string): boolean {
    const gone = this.#sql.exec('DELETE FROM webhooks WHERE id = ?', id).rowsWritten > 0;
    this.#sql.exec('DELETE FROM webhook_deliveries WHERE webhook_id = ?', id);
    return gone;
  }

  /** One pending delivery per subscribed endpoint, due at `now`. Returns how many were queued. */
  enqueue(event: WebhookEvent, now: number): number {
    const body = JSON.stringify(event);
    let queued = 0;
    for (const hook of this.list()) {
      if (hook.events.length > 0 && !hook.events.includes(event.type)) continue;
      this.#sql.exec(
        `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, attempts, next_at, status,
           updated_at) VALUES (?, ?, ?, ?, 0, ?, 'pending', ?)`,
        hook.id,
        event.id,
        event.type,
        body,
        now,
        now,
      );
      queued++;
    }
    return queued;
  }

  due(now: number, limit: number): DueDelivery[] {
    return this.#sql
      .exec<DeliveryRow & { url: string; secret: string }>(
        `SELECT d.*, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.seq LIMIT ?`,
        now,
        limit,
      )
      .toArray()
      .map((r) => ({
        seq: r.seq,
        webhookId: r.webhook_id,
        url: r.url,
        secret: r.secret,
        eventId: r.event_id,
        body: r.body,
        attempts: r.attempts,
      }));
  }

  /** Records one attempt's outcome; `nextAt` null ends the delivery as `status`. */
  settle(
    seq: number,
    outcome: {
      attempts: number;
      status: DeliveryStatus;
      nextAt: number | null;
      httpStatus: number | null;
      error: string | null;
    },
    now: number,
  ): void {
    this.#sql.exec(
      `UPDATE webhook_deliveries SET attempts = ?, status = ?, next_at = ?, last_status = ?, last_error = ?,
         updated_at = ? WHERE seq = ?`,
      outcome.attempts,
      outcome.status,
      outcome.nextAt,
      outcome.httpStatus,
      outcome.error,
      now,
      seq,
    );
  }

  /** Epoch ms of the earliest pending attempt, or null. */
  nextDue(): number | null {
    const row = this.#sql
      .exec<{ at: number | null }>(
        "SELECT MIN(next_at) AS at FROM webhook_deliveries WHERE status = 'pending'",
      )
      .one();
    return row.at ?? null;
  }

  deliveries(webhookId: string): DeliveryRecord[] {
    return this.#sql
      .exec<DeliveryRow>(
        'SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY seq DESC LIMIT 100',
        webhookId,
      )
      .toArray()
      .map((r) => ({
        webhookId: r.webhook_id,
        eventId: r.event_id,
        eventType: r.event_type,
        attempts: r.attempts,
        status: r.status === 'delivered' || r.status === 'failed' ? r.status : 'pending',
        nextAt: r.next_at,
        lastStatus: r.last_status,
        lastError: r.last_error,
        updatedAt: r.updated_at,
      }));
  }

  /** Drops finished rows beyond the newest KEEP_FINISHED per endpoint. */
  pruneFinished(): void {
    this.#sql.exec(
      `DELETE FROM webhook_deliveries WHERE status != 'pending' AND seq NOT IN (
         SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY seq DESC) AS n
           FROM webhook_deliveries WHERE status != 'pending') WHERE n <= ?)`,
      KEEP_FINISHED,
    );
  }
}
