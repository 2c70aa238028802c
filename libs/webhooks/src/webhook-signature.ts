import { createHmac } from 'node:crypto';
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
  body: string,
): SignedHeaders {
  const content = `${webhookId}.${timestampSeconds}.${body}`;
  const signatures = secrets.map(
    (secret) => `v1,${createHmac('sha256', secretKey(secret)).update(content).digest('base64')}`,
  );
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}
