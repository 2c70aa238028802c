export class WebhookSubscriptionNotFoundError extends Error {
  readonly code = 'webhook-subscription-not-found';
  constructor(readonly id: string) {
    super(`No webhook subscription with id ${id}`);
    this.name = 'WebhookSubscriptionNotFoundError';
  }
}

export class WebhookDeliveryNotFoundError extends Error {
  readonly code = 'webhook-delivery-not-found';
  constructor(readonly id: string) {
    super(`No delivery with id ${id} for this subscription`);
    this.name = 'WebhookDeliveryNotFoundError';
  }
}

/** A request that the state of the subscription or delivery does not allow (409). */
export class WebhookStateConflictError extends Error {
  constructor(
    readonly code:
      'webhook-subscription-disabled' | 'webhook-delivery-not-retryable' | 'idempotency-key-in-use',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookStateConflictError';
  }
}
