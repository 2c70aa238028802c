import { Controller, Get, Header, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService } from '@app/api-keys';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import type { FastifyRequest } from 'fastify';
import {
  ApiProblem,
  bearerSecretOf,
  CurrentPrincipal,
  publicBaseUrl,
  Roles,
  ZodPipe,
  type Principal,
} from '../http';
import { ApiJsonResponse, ApiProblemResponse } from '../openapi';
import { noQuery, type NoQuery } from '../read-models/query-values';

/** What both routes answer: the token, and the feed URL that carries it. */
export interface FeedTokenDto {
  keyId: string;
  feedToken: string;
  path: string;
  url: string;
}

const FEED_URL =
  '`url` is on `PUBLIC_BASE_URL` when the server has one, else on the scheme and host this ' +
  'request reached it at.';

/**
 * A key learns its calendar feed token here (any role): calendar clients cannot send
 * `Authorization`, so the feed URL carries the token instead of the key. The table keeps only
 * the token's hash; the token is derived again from the calling key's own secret, which is why
 * only the key itself can ask for it, and rotate it.
 */
@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('viewer')
@Controller('api/v1/api-keys/me')
export class FeedTokenController {
  constructor(
    @Inject(ApiKeysService) private readonly apiKeys: ApiKeysService,
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
  ) {}

  @Get('feed-token')
  // The answer carries a secret: no cache, shared or the client's, may keep it.
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'The calling key’s iCalendar feed token and feed URL' })
  @ApiJsonResponse(
    'FeedToken',
    `The token to put in the calendar feed URL as \`?token=\`, the same on every call until the key rotates it. ${FEED_URL}`,
  )
  @ApiProblemResponse(
    409,
    '`feed-token-unavailable`: the key’s token was issued before tokens were stored hashed and ' +
      'cannot be shown again. Its feed URL keeps working; `POST /api/v1/api-keys/me/feed-token/rotate` ' +
      'issues a new one (and ends the old one).',
  )
  async feedToken(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
  ): Promise<FeedTokenDto> {
    const answer = await this.apiKeys.feedTokenOf(principal.keyId, callerSecretOf(request));
    if (answer.status === 'inactive') throw revokedSince();
    if (answer.status === 'not-shown') {
      throw new ApiProblem(
        409,
        'feed-token-unavailable',
        'Feed token unavailable',
        'This key’s feed token was issued before feed tokens were stored hashed, and cannot be ' +
          'shown again; its feed URL keeps working. POST /api/v1/api-keys/me/feed-token/rotate ' +
          'issues a new token, shown then and here afterwards (the old URL then stops working).',
      );
    }
    return this.answer(principal, answer.token, request);
  }

  @Post('feed-token/rotate')
  // The answer carries a secret: no cache, shared or the client's, may keep it.
  @Header('cache-control', 'no-store')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Give the calling key a new iCalendar feed token: the old feed URL stops working at once',
  })
  @ApiJsonResponse(
    'FeedToken',
    `The new token and feed URL (shown again by \`GET /api/v1/api-keys/me/feed-token\`). ${FEED_URL}`,
  )
  async rotate(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
  ): Promise<FeedTokenDto> {
    const token = await this.apiKeys.rotateFeedToken(principal.keyId, callerSecretOf(request));
    if (!token) throw revokedSince();
    return this.answer(principal, token, request);
  }

  private answer(principal: Principal, feedToken: string, request: FastifyRequest): FeedTokenDto {
    const path = `/api/v1/expiries.ics?token=${encodeURIComponent(feedToken)}`;
    const base = publicBaseUrl(request, this.config.PUBLIC_BASE_URL);
    return { keyId: principal.keyId, feedToken, path, url: `${base}${path}` };
  }
}

/** The key authenticated a moment ago; it can only be inactive if revoked since. */
function revokedSince(): ApiProblem {
  return new ApiProblem(401, 'unauthenticated', 'Unauthenticated', 'The API key is revoked.');
}

/** The calling key's own secret, from which its feed token is derived. */
function callerSecretOf(request: FastifyRequest): string {
  const secret = bearerSecretOf(request);
  // The guard let the request in with this very header.
  if (!secret) throw new Error('A feed token route was reached without a bearer key');
  return secret;
}
