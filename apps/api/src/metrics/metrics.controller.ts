import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { METRICS_REGISTRY } from '@app/metrics';
import type { Registry } from 'prom-client';
import { Public } from '../http';

/**
 * Prometheus metrics of the api process. Public like the health checks (scrapers carry no API
 * key; the figures are operational counts, never data); keep it off the internet at the proxy.
 * The worker's (webhook deliveries, alerts) are on its own `WORKER_METRICS_PORT`.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
