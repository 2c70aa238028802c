import { Module } from '@nestjs/common';
import { MetricsModule } from '@app/metrics';
import { MetricsController } from './metrics.controller';

/** `GET /metrics` (Prometheus text format). */
@Module({ imports: [MetricsModule], controllers: [MetricsController] })
export class MetricsHttpModule {}
