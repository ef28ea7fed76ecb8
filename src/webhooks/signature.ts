/**
 * Webhook signing by the Standard Webhooks scheme (https://www.standardwebhooks.com, spec "Signature scheme"):
 * the secret is `whsec_` + base64 of random bytes, the HMAC-SHA256 key is those decoded bytes, the signed
 * content is `${webhook-id}.${webhook-timestamp}.${body}`, and `webhook-signature` is `v1,` + base64 of the MAC.
 * Any Standard Webhooks (or Svix) library verifies what we send.
 */

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

function secretKeyBytes(secret: string): Uint8Array {
  const base64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return fromBase64(base64);
}

/** `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`; `timestamp` in Unix seconds. */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    secretKeyBytes(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three headers of one delivery attempt. */
export async function webhookHeaders(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': await signWebhook(secret, id, timestamp, body),
  };
}
