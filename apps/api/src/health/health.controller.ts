import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { Readiness, type ReadinessReport } from '@app/metrics';
import type { FastifyReply } from 'fastify';
import { Public } from '../http';

/**
 * Liveness says the process answers; readiness says it can serve (SPEC §4). Unlike the API
 * routes, they ignore query parameters rather than refuse them: a monitor or load balancer that
 * adds one (a cache buster) must not take a healthy instance for a broken one.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(@Inject(Readiness) private readonly readiness: Readiness) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    reply.status(report.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
