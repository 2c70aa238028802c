import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AGREEMENT_STATUS_PROJECTION, AgreementQueries, ReadYourWrites } from '@app/projections';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiProblem, Roles, ZodPipe } from '../http';
import { ApiJsonResponse } from '../openapi';
import { ApiConditionalRead, notModified } from '../read-models/conditional-get';
import { historyQuerySchema, type HistoryQuery } from '../read-models/history-query';
import { awaitMinPosition } from '../read-models/min-position';
import { partyCodeQuery } from '../read-models/read-filters';
import {
  asKnownAt,
  listQuerySchema,
  requestedDates,
  statusQuerySchema,
  toDates,
} from '../measures/read-query';

const agreementListQuery = listQuerySchema.extend({ party: partyCodeQuery.optional() });

/** Agreements and their commitments (viewer role). */
@ApiTags('agreements')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/agreements')
export class AgreementsReadController {
  constructor(
    @Inject(AgreementQueries) private readonly agreements: AgreementQueries,
    @Inject(ReadYourWrites) private readonly readYourWrites: ReadYourWrites,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List agreements' })
  @ApiJsonResponse('AgreementPage', 'A page of agreements, in id order.')
  async list(@Query(new ZodPipe(agreementListQuery)) query: z.infer<typeof agreementListQuery>) {
    await this.caughtUp(query.minPosition);
    const { asOf, knownAt } = toDates(query);
    return this.agreements.list({
      party: query.party,
      limit: query.limit,
      after: query.cursor,
      asOf,
      knownAt,
    });
  }

  @Get(':agreement')
  @ApiOperation({ summary: 'An agreement with its commitments’ statuses on asOf' })
  @ApiConditionalRead('AgreementView', 'The agreement on `asOf`, as recorded by `knownAt`.')
  async get(
    @Param('agreement') agreement: string,
    @Query(new ZodPipe(statusQuerySchema)) query: z.infer<typeof statusQuerySchema>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.caughtUp(query.minPosition);
    const dates = requestedDates(query);
    const read = await this.agreements.getTagged(agreement, dates);
    if (!read) throw notFound(agreement, dates.knownAt);
    if (notModified(request, reply, read.etag)) return undefined;
    return read.view;
  }

  @Get(':agreement/events')
  @ApiOperation({ summary: 'The full, immutable history of an agreement, retractions marked' })
  @ApiJsonResponse(
    'EventHistory',
    'The events of the agreement’s stream after version `after`, in version order.',
  )
  async events(
    @Param('agreement') agreement: string,
    @Query(new ZodPipe(historyQuerySchema)) query: HistoryQuery,
  ) {
    const page = await this.agreements.events(agreement, query);
    if (!page) throw notFound(agreement);
    return page;
  }

  private caughtUp(minPosition: number | undefined): Promise<void> {
    return awaitMinPosition(this.readYourWrites, minPosition, [AGREEMENT_STATUS_PROJECTION]);
  }
}

/** No such agreement, or none recorded by `knownAt` when the read asked for one. */
function notFound(agreement: string, knownAt?: Date): ApiProblem {
  return new ApiProblem(
    404,
    'agreement-not-found',
    'Agreement not found',
    `No agreement is named ${agreement}${asKnownAt(knownAt)}.`,
    { agreement, ...(knownAt && { knownAt: knownAt.toISOString() }) },
  );
}
