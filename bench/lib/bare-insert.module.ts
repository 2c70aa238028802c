import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { ApiModule } from '../../apps/api/src/api.module';
import { Public } from '../../apps/api/src/http';

export const BARE_TABLE_DDL = `
  CREATE TABLE bench_bare_commands (
    id bigserial PRIMARY KEY,
    payload jsonb NOT NULL,
    metadata jsonb NOT NULL
  )`;

/**
 * The baseline of `npm run bench:commands`: a bare NestJS route on the same server (same
 * Fastify, global guard and filter, same pool), without a key, that stores the request body
 * with one INSERT and answers 201.
 */
@Public()
@Controller('bench/bare-insert')
class BareInsertController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Post()
  @HttpCode(201)
  async insert(@Body() body: Record<string, unknown>): Promise<{ id: string }> {
    const { rows } = await this.pool.query<{ id: string }>(
      'INSERT INTO bench_bare_commands (payload, metadata) VALUES ($1, $2) RETURNING id',
      [JSON.stringify(body), JSON.stringify({ actor: 'bench-editor', recordedAt: new Date() })],
    );
    return { id: rows[0].id };
  }
}

/** The api with the baseline route added: `createApi(BenchApiModule)`. */
@Module({ imports: [ApiModule], controllers: [BareInsertController] })
export class BenchApiModule {}
