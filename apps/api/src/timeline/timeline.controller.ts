import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReadYourWrites, TIMELINE_PROJECTION, TimelineQueries } from '@app/projections';
import { z } from 'zod';
import { Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { partyCodeQuery } from '../read-models/read-filters';
import { knownAtQuery } from '../read-models/query-values';
import { pageQuery, windowOf, windowQuery, withCursor } from '../read-models/window-query';
import { awaitMinPosition } from '../read-models/min-position';

const timelineQuery = z.strictObject({
  ...windowQuery('`effectiveAt`'),
  party: partyCodeQuery.optional(),
  knownAt: knownAtQuery,
  ...pageQuery,
});

/** What changed in valid time (viewer role). */
@ApiTags('timeline')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/timeline')
export class TimelineController {
  constructor(
    @Inject(TimelineQueries) private readonly timeline: TimelineQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Facts in order of the date they take effect, filtered by window and party',
    description:
      'One item per recorded fact (announcements, rate changes, suspensions and their ' +
      'extensions, exclusions, agreements, commitment statuses, claims) with `effectiveAt` in ' +
      '[from, to). `party` finds the facts of agreements it is party to and of measures it ' +
      'imposes, is targeted by, or whose scope in force on the fact’s `effectiveAt` includes ' +
      'its territory (a scope amendment also concerns the territories of the scope it ' +
      'replaces). Retracted facts drop out from their retraction on. So, from the recording of ' +
      'a revocation, do the facts it ends: a later revocation (the measure ends at the earlier, ' +
      'as its status says), and what was recorded before it to take effect at or after its ' +
      'date (the measure taking effect, amendments, suspensions starting, extended or lapsing, ' +
      'exclusions granted); liftings, exclusions’ extensions and expiries, links and claims ' +
      'stay. Retract the revocation and they are back. A past `knownAt` shows what had been ' +
      'recorded, and not yet retracted or ended, by then.',
  })
  @ApiJsonResponse('TimelinePage', 'Facts in the window, in order of `effectiveAt`.')
  async list(@Query(new ZodPipe(timelineQuery)) query: z.infer<typeof timelineQuery>) {
    await awaitMinPosition(this.readYourWrites, query.minPosition, [TIMELINE_PROJECTION]);
    const knownAt = query.knownAt ? new Date(query.knownAt) : undefined;
    return withCursor(() =>
      this.timeline.list({
        ...windowOf(query),
        party: query.party,
        knownAt: knownAt && knownAt < new Date() ? knownAt : undefined,
        after: query.cursor,
        limit: query.limit,
      }),
    );
  }
}
