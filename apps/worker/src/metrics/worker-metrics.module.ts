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
import { METRICS_REGISTRY, MetricsModule, startMetricsServer } from '@app/metrics';
import type { Registry } from 'prom-client';

/** Serves the worker's metrics on `WORKER_METRICS_PORT` (when set): it has no HTTP app. */
@Injectable()
class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.WORKER_METRICS_PORT;
    if (port === undefined) return;
    this.server = await startMetricsServer(this.registry, port);
    new Logger('Metrics').log(`Worker metrics on http://0.0.0.0:${port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

@Module({ imports: [MetricsModule], providers: [WorkerMetricsServer] })
export class WorkerMetricsModule {}
