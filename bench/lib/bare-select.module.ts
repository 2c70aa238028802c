import { Controller, Get, Inject, Module, NotFoundException, Param } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { ProjectionRebuildModule } from '@app/projections';
import type { Pool } from 'pg';
import { ApiModule } from '../../apps/api/src/api.module';
import { Public } from '../../apps/api/src/http';

/**
 * The baseline of `npm run bench:queries`: a bare NestJS route on the same server (same
 * Fastify, global guard and filter, same pool), without a key, that answers with the
 * measure_status row of a measure, read with one primary-key SELECT.
 */
@Public()
@Controller('bench/bare')
class BareSelectController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get(':id')
  async get(@Param('id') id: string): Promise<Record<string, unknown>> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      'SELECT * FROM measure_status WHERE measure_id = $1',
      [id],
    );
    if (!rows.length) throw new NotFoundException();
    return rows[0];
  }
}

/** The api with the baseline route: what the benchmark's api processes serve. */
@Module({ imports: [ApiModule], controllers: [BareSelectController] })
export class BenchReadApiModule {}

/** The same, and the rebuilder to project the loaded history. */
@Module({ imports: [BenchReadApiModule, ProjectionRebuildModule] })
export class BenchQueriesModule {}
