import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ALERT_SCHEDULE_PROJECTION, AlertQueries } from '@app/alerts';
import { ReadYourWrites } from '@app/projections';
import { StreamCodeIndex } from '@app/trade';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { pageQuery, windowOf, windowQuery, withCursor } from '../read-models/window-query';
import { awaitMinPosition } from '../read-models/min-position';

const alertsQuery = z.strictObject({
  measure: z
    .string()
    .max(200)
    .optional()
    .describe('The alerts of this measure, by id or code (an unknown one: an empty page).'),
  suspension: z
    .string()
    .max(200)
    .optional()
    .describe('The alerts of this suspension, by the `suspensionId` its write answered.'),
  state: z
    .enum(['pending', 'fired', 'cancelled', 'skipped'])
    .optional()
    .describe('Only the alerts in this state.'),
  ...windowQuery('the intended fire time'),
  ...pageQuery,
});

/**
 * The expiry-alert schedule (viewer role): per alert its lead time, intended fire time, the time
 * it fired and the time it was first delivered, and what became of it (issue 5, scope 7).
 */
@ApiTags('alerts')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/alerts')
export class AlertsController {
  constructor(
    @Inject(AlertQueries) private readonly alerts: AlertQueries,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Expiry alerts by intended fire time, with their fired and delivered times',
    description:
      'One alert per suspension end and lead time (`ALERT_LEAD_TIMES`, the lead times ' +
      'subscriptions ask for, and `PT0S`, the end itself). `state` is `pending`, `fired`, ' +
      '`cancelled` (an extension, lifting, revocation or retraction made it moot) or `skipped` ' +
      '(already past when the end became known). `from`/`to` bound the intended fire time.',
  })
  @ApiJsonResponse('AlertPage', 'Alerts in order of their intended fire time.')
  async list(@Query(new ZodPipe(alertsQuery)) query: z.infer<typeof alertsQuery>) {
    // A suspension just recorded has its alerts once the schedule projection has passed it.
    await awaitMinPosition(this.readYourWrites, query.minPosition, [ALERT_SCHEDULE_PROJECTION]);
    const window = windowOf(query);
    const measureId = query.measure ? await this.codes.resolve('measure', query.measure) : null;
    if (query.measure && !measureId) return { items: [], nextCursor: null };
    return withCursor(() =>
      this.alerts.list({
        measureId: measureId ?? undefined,
        suspensionId: query.suspension,
        state: query.state,
        from: window.from,
        to: window.to,
        after: query.cursor,
        limit: query.limit,
      }),
    );
  }
}
