import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReadYourWrites, SUSPENSION_ENDS_PROJECTION, SuspensionEndQueries } from '@app/projections';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { measureKindQuery, partyCodeQuery } from '../read-models/read-filters';
import { knownAtQuery } from '../read-models/query-values';
import { pageQuery, windowOf, windowQuery, withCursor } from '../read-models/window-query';
import { awaitMinPosition } from '../read-models/min-position';

const expiriesQuery = z.strictObject({
  ...windowQuery('each suspension’s current end', 'now'),
  imposingParty: partyCodeQuery.optional(),
  targetParty: partyCodeQuery.optional(),
  kind: measureKindQuery.optional(),
  knownAt: knownAtQuery,
  ...pageQuery,
});

/** Upcoming suspension ends (viewer role): what lapses when, unless it is extended. */
@ApiTags('expiries')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/expiries')
export class ExpiriesController {
  constructor(
    @Inject(SuspensionEndQueries) private readonly ends: SuspensionEndQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Suspension ends in a window, soonest first',
    description:
      '`from` (inclusive, default now) and `to` (exclusive; a date includes its day) bound the ' +
      'current end of each suspension, after extensions. Lifted or retracted suspensions and ' +
      'those of measures revoked before their end are left out. `targetParty` finds the ends of ' +
      'measures that target it, or whose scope in force at the end includes its territory ' +
      '(HK under a duty on CN). `knownAt` (an ISO 8601 instant, default ' +
      'now) answers as the tracker knew it then: only suspensions, extensions, liftings, ' +
      'revocations and retractions recorded by then count, so an extension recorded later ' +
      'does not move an end yet, and a retracted fact counts until its retraction was ' +
      'recorded; `revision` and `changedAt` are as they stood then.',
  })
  @ApiJsonResponse('SuspensionEndPage', 'Suspension ends in the window, soonest first.')
  async list(@Query(new ZodPipe(expiriesQuery)) query: z.infer<typeof expiriesQuery>) {
    await awaitMinPosition(this.readYourWrites, query.minPosition, [SUSPENSION_ENDS_PROJECTION]);
    const window = windowOf(query);
    const knownAt = query.knownAt ? new Date(query.knownAt) : undefined;
    return withCursor(() =>
      this.ends.list({
        ...query,
        from: window.from ?? new Date(),
        to: window.to,
        knownAt: knownAt && knownAt < new Date() ? knownAt : undefined,
        after: query.cursor,
      }),
    );
  }
}
