import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AGREEMENT_STATUS_PROJECTION,
  MEASURE_STATUS_PROJECTION,
  MeasureQueries,
  measurePageJson,
  ReadYourWrites,
  type MeasureView,
} from '@app/projections';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiProblem, Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { ApiConditionalRead, notModified } from '../read-models/conditional-get';
import { historyQuerySchema, type HistoryQuery } from '../read-models/history-query';
import { awaitMinPosition } from '../read-models/min-position';
import { measureFilters } from '../read-models/read-filters';
import {
  asKnownAt,
  listQuerySchema,
  requestedDates,
  statusQuerySchema,
  toDates,
} from './read-query';

const measureListQuery = listQuerySchema.extend(measureFilters);

/** Measure status on any date, as known at any time (viewer role). */
@ApiTags('measures')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/measures')
export class MeasuresReadController {
  constructor(
    @Inject(MeasureQueries) private readonly measures: MeasureQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List measures with their status on asOf, filtered' })
  @ApiJsonResponse('MeasurePage', 'A page of measures, in id order, with their status on `asOf`.')
  async list(
    @Query(new ZodPipe(measureListQuery)) query: z.infer<typeof measureListQuery>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    await this.caughtUp(query.minPosition);
    const { asOf, knownAt } = toDates(query);
    const page = await this.measures.list({
      ...query,
      asOf,
      knownAt,
      endsBefore: query.endsBefore ? new Date(query.endsBefore) : undefined,
      after: query.cursor,
    });
    // Already JSON: stored items go out as they are (see MeasurePage).
    reply.type('application/json; charset=utf-8');
    return measurePageJson(page);
  }

  @Get(':measure')
  @ApiOperation({
    summary: 'A measure’s status on asOf, as known at knownAt',
    description:
      'From the measure’s revocation (`revokedAt`) on, nothing of it is in effect: `status` ' +
      '`revoked`, `rate` and `activeSuspension` null, `activeExclusions` empty, each ' +
      'suspension’s `onAsOf.state` `ended` if it ran at the revocation (a lifting dated after ' +
      'it lifted nothing) or `not-started` if it was to start at or after it. `fullRate` and ' +
      '`scope` are then those the measure ended with: an amendment or a phase of the rate ' +
      'dated at or after the revocation never took effect, though it stays in `rateHistory`, ' +
      'and exclusions granted from then on stay in `exclusions`. The list items, the CSV ' +
      'export and `targetParty` answer the same way. With a `knownAt` before the revocation ' +
      'was recorded, those facts count as they did then.',
  })
  @ApiConditionalRead('MeasureView', 'The measure’s status on `asOf`, as recorded by `knownAt`.')
  async get(
    @Param('measure') measure: string,
    @Query(new ZodPipe(statusQuerySchema)) query: z.infer<typeof statusQuerySchema>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MeasureView | undefined> {
    await this.caughtUp(query.minPosition);
    const dates = requestedDates(query);
    const read = await this.measures.getTagged(measure, dates);
    if (!read) throw notFound(measure, dates.knownAt);
    if (notModified(request, reply, read.etag)) return undefined;
    return read.view;
  }

  @Get(':measure/events')
  @ApiOperation({ summary: 'The full, immutable history of a measure, retractions marked' })
  @ApiJsonResponse(
    'EventHistory',
    'The events of the measure’s stream after version `after`, in version order.',
  )
  async events(
    @Param('measure') measure: string,
    @Query(new ZodPipe(historyQuerySchema)) query: HistoryQuery,
  ) {
    const page = await this.measures.events(measure, query);
    if (!page) throw notFound(measure);
    return page;
  }

  private caughtUp(minPosition: number | undefined): Promise<void> {
    return awaitMinPosition(this.readYourWrites, minPosition, [
      MEASURE_STATUS_PROJECTION,
      AGREEMENT_STATUS_PROJECTION,
    ]);
  }
}

/**
 * No such measure, or none recorded by `knownAt` when the read asked for one: the detail says
 * which, since transaction time is when this Accord recorded a fact, not when it happened.
 */
function notFound(measure: string, knownAt?: Date): ApiProblem {
  return new ApiProblem(
    404,
    'measure-not-found',
    'Measure not found',
    `No measure is named ${measure}${asKnownAt(knownAt)}.`,
    { measure, ...(knownAt && { knownAt: knownAt.toISOString() }) },
  );
}
