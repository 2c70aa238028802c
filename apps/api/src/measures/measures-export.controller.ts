import { Controller, Get, Header, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import {
  MEASURE_STATUS_PROJECTION,
  MeasureQueries,
  ReadYourWrites,
  type MeasureSummary,
} from '@app/projections';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiReadText } from '../openapi';
import { awaitMinPosition } from '../read-models/min-position';
import { measureFilters } from '../read-models/read-filters';
import { MEASURE_CSV_HEADER, measureCsvRow, toCsv } from './measures-csv';
import { statusQuerySchema, toDates } from './read-query';

// The filters of GET /api/v1/measures, without its paging: the export holds every page.
const exportQuery = statusQuerySchema.extend(measureFilters);

const PAGE = 200;

/** The list view of measures as CSV, for spreadsheets (viewer role). */
@ApiTags('measures')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1')
export class MeasuresExportController {
  constructor(
    @Inject(MeasureQueries) private readonly measures: MeasureQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get('measures.csv')
  @Header('content-type', 'text/csv; charset=utf-8; header=present')
  @Header('content-disposition', 'attachment; filename="measures.csv"')
  @ApiProduces('text/csv')
  @ApiOperation({
    summary: 'CSV export (RFC 4180) of the measure list: same filters, every page',
  })
  @ApiReadText(
    'text/csv',
    'RFC 4180 CSV with a header row, one row per measure (`content-disposition: attachment`).',
  )
  async export(@Query(new ZodPipe(exportQuery)) query: z.infer<typeof exportQuery>) {
    await awaitMinPosition(this.readYourWrites, query.minPosition, [MEASURE_STATUS_PROJECTION]);
    const views: MeasureSummary[] = [];
    const dates = toDates(query);
    for (let after: string | undefined; ;) {
      const page = await this.measures.list({
        ...query,
        asOf: dates.asOf,
        knownAt: dates.knownAt,
        endsBefore: query.endsBefore ? new Date(query.endsBefore) : undefined,
        after,
        limit: PAGE,
      });
      views.push(...page.itemsJson.map((item) => JSON.parse(item) as MeasureSummary));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    return toCsv([
      [...MEASURE_CSV_HEADER],
      ...views.map((view) => measureCsvRow(view, dates.asOf.toISOString())),
    ]);
  }
}
