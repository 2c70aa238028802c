import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Server } from 'node:http';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import {
  METRICS_REGISTRY,
  MetricsModule,
  Readiness,
  ReadinessModule,
  startMetricsServer,
} from '@app/metrics';
import type { Registry } from 'prom-client';

/**
 * Serves the worker's metrics and health checks (`/health/live`, `/health/ready`, as the api's)
 * on `WORKER_METRICS_PORT` (when set): it has no HTTP app.
 */
@Injectable()
class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.WORKER_METRICS_PORT;
    if (port === undefined) return;
    this.server = await startMetricsServer(this.registry, port, () => this.readiness.report());
    new Logger('Metrics').log(
      `Worker metrics on http://0.0.0.0:${port}/metrics, health on /health/live and /health/ready`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

@Module({ imports: [MetricsModule, ReadinessModule], providers: [WorkerMetricsServer] })
export class WorkerMetricsModule {}
