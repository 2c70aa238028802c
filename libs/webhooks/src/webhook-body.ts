import type { WebhookPayload } from './webhook-message';
import type { WebhookFormat } from './webhook-subscription';

/** The CloudEvents `source` of every event Accord sends. */
export const CLOUDEVENTS_SOURCE = 'urn:accord:webhooks';
/** CloudEvents types are reverse-DNS prefixed: `dev.accord.suspension.expiring`. */
export const CLOUDEVENTS_TYPE_PREFIX = 'dev.accord.';

/**
 * The request body in a subscription's format: Standard Webhooks' `{ type, timestamp, data }`,
 * or a CloudEvents 1.0 structured-mode event whose `id` is the webhook-id. Either is signed the
 * same way.
 */
export function renderBody(
  format: WebhookFormat,
  payload: WebhookPayload,
  webhookId: string,
): { body: string; contentType: string } {
  switch (format) {
    case 'standard':
      return {
        body: JSON.stringify({
          type: payload.type,
          timestamp: payload.timestamp,
          data: payload.data,
        }),
        contentType: 'application/json',
      };
    case 'cloudevents':
      return {
        body: JSON.stringify({
          specversion: '1.0',
          id: webhookId,
          source: CLOUDEVENTS_SOURCE,
          type: `${CLOUDEVENTS_TYPE_PREFIX}${payload.type}`,
          time: payload.timestamp,
          datacontenttype: 'application/json',
          data: payload.data,
        }),
        contentType: 'application/cloudevents+json; charset=utf-8',
      };
    default: {
      const unknown: never = format;
      throw new Error(`Unknown webhook format ${String(unknown)}`);
    }
  }
}
