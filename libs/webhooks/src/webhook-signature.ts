import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { secretKey } from './webhook-secret';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Standard Webhooks signing: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with each secret,
 * space-separated (two during a rotation's grace period, the current one first).
 */
export function signWebhook(
  secrets: string[],
  webhookId: string,
  timestampSeconds: number,
  body: string | Buffer,
): SignedHeaders {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatureOf(
      secrets.map((secret) => createSecretKey(secretKey(secret))),
      webhookId,
      timestampSeconds,
      body,
    ),
  };
}

/** The `webhook-signature` value for keys already decoded (see `WebhookSigningKeys`). */
export function signatureOf(
  keys: readonly KeyObject[],
  webhookId: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  // The body is hashed as it is sent (bytes encoded once per message), after `id.timestamp.`.
  const prefix = `${webhookId}.${timestampSeconds}.`;
  let header = '';
  for (const key of keys) {
    const digest = createHmac('sha256', key).update(prefix).update(body).digest('base64');
    header += header ? ` v1,${digest}` : `v1,${digest}`;
  }
  return header;
}

/**
 * Secrets decoded into HMAC keys once, not on every attempt. Held in memory only (the process
 * already holds the secrets it signs with); bounded, and cleared whole when full.
 */
export class WebhookSigningKeys {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxSize = 10_000) {}

  get(secret: string): KeyObject {
    let key = this.keys.get(secret);
    if (!key) {
      if (this.keys.size >= this.maxSize) this.keys.clear();
      key = createSecretKey(secretKey(secret));
      this.keys.set(secret, key);
    }
    return key;
  }
}
