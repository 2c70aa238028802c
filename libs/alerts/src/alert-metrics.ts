import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the alert side, created on the process's registry by `AlertsModule`, so
 * only in the processes that fire and reconcile alerts (the worker serves them on
 * `WORKER_METRICS_PORT`; the CLI has them unserved). The api imports this lib for its queries
 * alone and exposes none of them. Nothing is registered when the lib is merely imported.
 *
 * Fire lateness is fired_at − fire_at: how late an alert left compared with its intended time,
 * the figure issue 5 targets (p99 ≤ 1 s). An alert whose fire time had already passed when its
 * end was recorded (an import of ends long past, which fire at once to record their lapses) is
 * not observed: its "lateness" would say when the data arrived, not how the scheduler kept time.
 * It is counted in `accord_alerts_fired_total` like any other.
 */
export class AlertMetrics {
  readonly fireLateness: Histogram<'lead_time'>;
  readonly fired: Counter<'outcome'>;
  readonly jobsRecreated: Counter;

  constructor(registry: Registry) {
    this.fireLateness = once(
      registry,
      'accord_alert_fire_lateness_seconds',
      () =>
        new Histogram({
          name: 'accord_alert_fire_lateness_seconds',
          help: 'Time between an alert’s intended fire time and the moment it fired (alerts already due when their end was recorded are left out)',
          labelNames: ['lead_time'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
          registers: [registry],
        }),
    );
    this.fired = once(
      registry,
      'accord_alerts_fired_total',
      () =>
        new Counter({
          name: 'accord_alerts_fired_total',
          help: 'Alert jobs processed, by outcome (fired, cancelled, fenced, …)',
          labelNames: ['outcome'],
          registers: [registry],
        }),
    );
    this.jobsRecreated = once(
      registry,
      'accord_alert_jobs_recreated_total',
      () =>
        new Counter({
          name: 'accord_alert_jobs_recreated_total',
          help: 'Alert jobs the reconciler found missing in Redis and added again',
          registers: [registry],
        }),
    );
  }
}

/** A second Nest app in the same process (tests) shares the registry: reuse what is registered. */
function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
