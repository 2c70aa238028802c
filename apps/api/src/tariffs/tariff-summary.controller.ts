import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MEASURE_STATUS_PROJECTION, ReadYourWrites, TariffSummaryQueries } from '@app/projections';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { partyCodeQuery } from '../read-models/read-filters';
import { statusQuerySchema, toDates } from '../measures/read-query';
import { awaitMinPosition } from '../read-models/min-position';

const summaryQuery = statusQuerySchema.extend({
  imposingParty: partyCodeQuery,
  targetParty: partyCodeQuery,
});

/** Rates one party charges on another's goods on a date (viewer role). */
@ApiTags('tariffs')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/tariffs')
export class TariffSummaryController {
  constructor(
    @Inject(TariffSummaryQueries) private readonly tariffs: TariffSummaryQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get('summary')
  @ApiOperation({
    summary: 'Tariffs in force on asOf for a pair of parties: rate in force and suspended',
    description:
      'Each tariff in force on `asOf` with its full rate, suspended part and applied rate, and ' +
      'the ad valorem totals — economy-wide tariffs (scope `allProducts`) apart from ' +
      'product-specific ones.',
  })
  @ApiJsonResponse('TariffSummary', 'The tariffs in force on `asOf`, economy-wide and by product.')
  async summary(@Query(new ZodPipe(summaryQuery)) query: z.infer<typeof summaryQuery>) {
    await awaitMinPosition(this.readYourWrites, query.minPosition, [MEASURE_STATUS_PROJECTION]);
    return this.tariffs.summary({
      imposingParty: query.imposingParty,
      targetParty: query.targetParty,
      ...toDates(query),
    });
  }
}
