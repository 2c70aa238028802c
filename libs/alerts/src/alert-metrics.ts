import { Counter, Histogram, register } from 'prom-client';

/**
 * Prometheus metrics of the alert side, on prom-client's default registry (whoever serves
 * `/metrics` in the process exposes them). Fire lateness is fired_at − fire_at: how late an alert
 * left compared with its intended time, the figure issue 5 targets (p99 ≤ 1 s).
 */
export const alertFireLateness = singleton(
  'accord_alert_fire_lateness_seconds',
  () =>
    new Histogram({
      name: 'accord_alert_fire_lateness_seconds',
      help: 'Time between an alert’s intended fire time and the moment it fired',
      labelNames: ['lead_time'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    }),
);

export const alertsFired = singleton(
  'accord_alerts_fired_total',
  () =>
    new Counter({
      name: 'accord_alerts_fired_total',
      help: 'Alert jobs processed, by outcome (fired, cancelled, fenced, …)',
      labelNames: ['outcome'],
    }),
);

export const alertJobsRecreated = singleton(
  'accord_alert_jobs_recreated_total',
  () =>
    new Counter({
      name: 'accord_alert_jobs_recreated_total',
      help: 'Alert jobs the reconciler found missing in Redis and added again',
    }),
);

// A second Nest app in the same process (tests, the CLI) must not register the metric twice.
function singleton<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}
