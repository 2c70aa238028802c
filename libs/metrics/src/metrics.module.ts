import { Global, Module } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { METRICS_REGISTRY } from './metrics.tokens';

/**
 * The process's Prometheus registry: prom-client's default one, so that metrics created at
 * module level (the alerts') and those created by injection (the webhooks') are served
 * together, with Node's default metrics. The api serves it at `/metrics`, the worker on
 * `WORKER_METRICS_PORT`.
 */
@Global()
@Module({
  providers: [
    {
      provide: METRICS_REGISTRY,
      useFactory: () => {
        // Several Nest apps may start in one process (tests): collect the defaults once.
        if (!register.getSingleMetric('process_cpu_user_seconds_total'))
          collectDefaultMetrics({ register });
        return register;
      },
    },
  ],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule {}
