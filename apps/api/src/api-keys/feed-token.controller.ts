import { Controller, Get, Inject, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService } from '@app/api-keys';
import type { FastifyRequest } from 'fastify';
import {
  ApiProblem,
  CurrentPrincipal,
  requestOrigin,
  Roles,
  ZodPipe,
  type Principal,
} from '../http';
import { ApiJsonResponse } from '../openapi';
import { noQuery, type NoQuery } from '../read-models/query-values';

/**
 * A key learns its calendar feed token here (any role): calendar clients cannot send
 * `Authorization`, so the feed URL carries the token instead of the key.
 */
@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/api-keys/me')
export class FeedTokenController {
  constructor(@Inject(ApiKeysService) private readonly apiKeys: ApiKeysService) {}

  @Get('feed-token')
  @ApiOperation({ summary: 'The calling key’s iCalendar feed token and feed URL' })
  @ApiJsonResponse('FeedToken', 'The token to put in the calendar feed URL as `?token=`.')
  async feedToken(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
  ) {
    const feedToken = await this.apiKeys.feedTokenOf(principal.keyId);
    // The key authenticated a moment ago; it can only be missing if revoked since.
    if (!feedToken) {
      throw new ApiProblem(401, 'unauthenticated', 'Unauthenticated', 'The API key is revoked.');
    }
    const path = `/api/v1/expiries.ics?token=${encodeURIComponent(feedToken)}`;
    return {
      keyId: principal.keyId,
      feedToken,
      path,
      url: `${requestOrigin(request)}${path}`,
    };
  }
}
