import { Controller, Get, Header, Inject, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiKeysService } from '@app/api-keys';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { SuspensionEndQueries } from '@app/projections';
import type { FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ApiProblem, Public, publicBaseUrl, ZodPipe } from '../http';
import { ApiProblemResponse, ApiReadText } from '../openapi';
import { windowOf, windowQuery } from '../read-models/window-query';
import { suspensionEndsCalendar, type CalendarEnd } from './suspension-ends-calendar';

const calendarQuery = z.strictObject({
  token: z
    .string()
    .max(512)
    .optional()
    .describe(
      'The feed token of an active API key (`GET /api/v1/api-keys/me/feed-token`): calendar ' +
        'clients cannot send `Authorization`. Required; missing or unknown, a 401.',
    ),
  ...windowQuery('each suspension’s current end', 'a year ago'),
});

/** More would make a calendar client choke long before it helps anyone. */
const MAX_EVENTS = 5000;
const PAGE = 200;

/**
 * The iCalendar feed of suspension ends. Calendar clients cannot send headers, so the route is
 * public and checks the per-key feed token in the URL itself (`GET /api/v1/api-keys/me/feed-token`
 * gives a key its token); an unknown token, or one of a revoked key, is a 401.
 */
@ApiTags('expiries')
@Controller('api/v1')
export class ExpiriesCalendarController {
  constructor(
    @Inject(SuspensionEndQueries) private readonly ends: SuspensionEndQueries,
    @Inject(ApiKeysService) private readonly apiKeys: ApiKeysService,
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
  ) {}

  @Get('expiries.ics')
  @Public()
  @Header('content-type', 'text/calendar; charset=utf-8')
  @Header('cache-control', 'private, max-age=300')
  @ApiProduces('text/calendar')
  @ApiOperation({
    summary: 'iCalendar (RFC 5545) feed of suspension ends, authenticated by ?token=',
    description:
      'One VEVENT per suspension end, UID `<suspensionId>@accord`, from a year ago (or `from`) ' +
      'on. An end that will not come stays, CANCELLED with a higher SEQUENCE and a line ' +
      'saying why: its suspension was lifted or retracted (its scheduling, or its measure, ' +
      'withdrawn from the record), or its measure is revoked before it. A retraction of that ' +
      'retraction makes it CONFIRMED again.',
  })
  @ApiReadText('text/calendar', 'An RFC 5545 calendar, one VEVENT per suspension end.')
  @ApiProblemResponse(
    401,
    '`unauthenticated`: `token` is missing, or is not the feed token of an active API key.',
  )
  async calendar(
    @Query(new ZodPipe(calendarQuery)) query: z.infer<typeof calendarQuery>,
    @Req() request: FastifyRequest,
  ) {
    const principal = query.token ? await this.apiKeys.authenticateFeedToken(query.token) : null;
    if (!principal) {
      throw new ApiProblem(
        401,
        'unauthenticated',
        'Unauthenticated',
        'Add the feed token of an active API key as ?token=.',
        {},
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    }
    const window = windowOf(query);
    const from = window.from ?? DateTime.now().minus({ years: 1 }).toJSDate();
    const ends: CalendarEnd[] = [];
    for (let after: string | undefined; ends.length < MAX_EVENTS;) {
      const page = await this.ends.listWithCancelled({
        from,
        to: window.to,
        after,
        limit: Math.min(PAGE, MAX_EVENTS - ends.length),
      });
      ends.push(...page.items);
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    // Calendar clients open links only as absolute URLs: where clients reach the api.
    return suspensionEndsCalendar(ends, publicBaseUrl(request, this.config.PUBLIC_BASE_URL));
  }
}
