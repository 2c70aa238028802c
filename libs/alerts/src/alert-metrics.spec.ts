import { Registry, register } from 'prom-client';
import { AlertMetrics } from './index';

const ALERT_METRICS = [
  'accord_alert_fire_lateness_seconds',
  'accord_alerts_fired_total',
  'accord_alert_jobs_recreated_total',
];

const alertMetricsOn = (registry: Registry) =>
  registry
    .getMetricsAsArray()
    .map((metric) => metric.name)
    .filter((name) => name.startsWith('accord_alert'))
    .sort();

describe('Alert metrics', () => {
  it('are not registered by importing the lib: the api imports it for its queries and must not expose them', () => {
    expect(alertMetricsOn(register)).toEqual([]);
  });

  it('are registered on the registry AlertsModule gives them, once however many apps start', async () => {
    const registry = new Registry();
    const first = new AlertMetrics(registry);
    const second = new AlertMetrics(registry);
    second.jobsRecreated.inc(3);

    expect(alertMetricsOn(registry)).toEqual([...ALERT_METRICS].sort());
    expect(first.jobsRecreated).toBe(second.jobsRecreated);
    expect(await registry.getSingleMetricAsString('accord_alert_jobs_recreated_total')).toContain(
      'accord_alert_jobs_recreated_total 3',
    );
  });
});
