import { Counter, Histogram, type Registry } from 'prom-client';

/** The webhook metrics (SPEC §4 `/metrics`), created once per registry. */
export class WebhookMetrics {
  readonly attemptDuration: Histogram<'result'>;
  readonly deliveryLatency: Histogram;
  readonly attempts: Counter<'result'>;
  readonly failures: Counter<'reason'>;
  readonly disabled: Counter<'reason'>;

  constructor(registry: Registry) {
    this.attemptDuration = once(
      registry,
      'accord_webhook_attempt_duration_seconds',
      () =>
        new Histogram({
          name: 'accord_webhook_attempt_duration_seconds',
          help: 'Time of one webhook POST, connection to the end of the part of the response read',
          labelNames: ['result'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    );
    this.deliveryLatency = once(
      registry,
      'accord_webhook_delivery_latency_seconds',
      () =>
        new Histogram({
          name: 'accord_webhook_delivery_latency_seconds',
          help: 'Time from a delivery being due (created, retried or replayed) to its successful attempt',
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
          registers: [registry],
        }),
    );
    this.attempts = once(
      registry,
      'accord_webhook_attempts_total',
      () =>
        new Counter({
          name: 'accord_webhook_attempts_total',
          help: 'Webhook delivery attempts, by result (success: a 2xx answer; failure: anything else)',
          labelNames: ['result'],
          registers: [registry],
        }),
    );
    this.failures = once(
      registry,
      'accord_webhook_delivery_failures_total',
      () =>
        new Counter({
          name: 'accord_webhook_delivery_failures_total',
          help: 'Deliveries given up on, by reason (exhausted, gone, refused, disabled)',
          labelNames: ['reason'],
          registers: [registry],
        }),
    );
    this.disabled = once(
      registry,
      'accord_webhook_subscriptions_disabled_total',
      () =>
        new Counter({
          name: 'accord_webhook_subscriptions_disabled_total',
          help: 'Subscriptions disabled by the deliverer, by reason (gone, failures)',
          labelNames: ['reason'],
          registers: [registry],
        }),
    );
  }
}

/** Several app instances share a registry in one process (tests): reuse a registered metric. */
function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
