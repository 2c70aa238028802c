export { MetricsModule } from './metrics.module';
export { METRICS_REGISTRY } from './metrics.tokens';
export { startMetricsServer } from './metrics-server';
export { Readiness, ReadinessModule, type ReadinessCheck, type ReadinessReport } from './readiness';
