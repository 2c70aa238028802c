import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeysService, createApiKeyInputSchema, type CreateApiKeyInput } from '@app/api-keys';
import type { WriteOptions } from '@app/trade';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerSecretOf, expectedVersionOf, Roles, ZodPipe } from '../http';
import {
  ApiIdempotencyKey,
  ApiIdParam,
  ApiIfMatch,
  ApiJsonResponse,
  ApiNoBodyResponse,
  ApiProblemResponse,
  schemaRef,
} from '../openapi';
import { noQuery, type NoQuery } from '../read-models/query-values';
import { WriteContext } from '../write/write-request';
import {
  toApiKeyDto,
  toCreatedApiKeyDto,
  type ApiKeyDto,
  type CreatedApiKeyDto,
} from './api-keys.dto';

/** What a key's `ETag` can be, said where a route sends it. */
const KEY_VERSIONS = 'Its `ETag` is its version: `"1"` while active, `"2"` once revoked.';

/**
 * Admins manage keys (SPEC §4). A key's secret appears in the creation response, and again only
 * to a retry of that creation with the same `Idempotency-Key`, for 24 hours.
 */
@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(@Inject(ApiKeysService) private readonly apiKeys: ApiKeysService) {}

  @Post()
  // The answer carries a secret: no cache, shared or the client's, may keep it.
  @Header('cache-control', 'no-store')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Create an API key; its secret is shown in this response only (and to a retry with the same Idempotency-Key)',
  })
  @ApiBody({ required: true, schema: schemaRef('CreateApiKeyBody') })
  @ApiIdempotencyKey(
    'Makes the creation safe to retry: a retry by the same API key with the same ' +
      'Idempotency-Key and the same request answers with the key the first one made, its ' +
      'secret `key` included, and creates nothing, for 24 hours; later, or once that key is ' +
      'revoked, a 409 `api-key-secret-unavailable` (with its `id`). The same Idempotency-Key ' +
      'on another request is a 422 `idempotency-key-reused`. The secret is kept for this only ' +
      'sealed under the Idempotency-Key and the calling key’s own secret.',
  )
  @ApiJsonResponse(
    'CreatedApiKey',
    'Created. `key` is the secret: shown in this response, and again only to a retry with ' +
      `the same \`Idempotency-Key\` within 24 hours. ${KEY_VERSIONS}`,
    { status: 201, etag: 'The key', location: true },
  )
  @ApiProblemResponse(
    409,
    '`api-key-name-taken`: another active key has this name; `api-key-secret-unavailable`: a ' +
      'retry (same `Idempotency-Key`) of a creation whose secret cannot be shown again.',
  )
  @ApiProblemResponse(
    422,
    '`idempotency-key-reused`: the `Idempotency-Key` was used for a different request.',
  )
  async create(
    @Body(new ZodPipe(createApiKeyInputSchema)) body: CreateApiKeyInput,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedApiKeyDto> {
    const idempotency =
      write.commandId && write.requestFingerprint
        ? {
            commandId: write.commandId,
            requestFingerprint: write.requestFingerprint,
            callerSecret: callerSecretOf(request),
          }
        : undefined;
    const created = await this.apiKeys.create(body, idempotency);
    reply.header('location', `/api/v1/api-keys/${created.id}`);
    reply.header('etag', `"${created.version}"`);
    return toCreatedApiKeyDto(created);
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never their secrets)' })
  @ApiJsonResponse('ApiKeyList', 'Every key, revoked ones included; never a secret.')
  async list(
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
  ): Promise<{ items: ApiKeyDto[]; nextCursor: null }> {
    const keys = await this.apiKeys.list();
    return { items: keys.map(toApiKeyDto), nextCursor: null };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One API key, active or revoked (never its secret)' })
  @ApiIdParam('id', 'The key’s id.')
  @ApiJsonResponse('ApiKey', `The key. ${KEY_VERSIONS}`, { etag: 'The key' })
  @ApiProblemResponse(404, '`api-key-not-found`.')
  async get(
    @Param('id') id: string,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ApiKeyDto> {
    const key = await this.apiKeys.get(id);
    reply.header('etag', `"${key.version}"`);
    return toApiKeyDto(key);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key (again: nothing changes)' })
  @ApiIdParam('id', 'The key’s id.')
  @ApiIfMatch(
    'Revokes only if the key is at a listed version (its `ETag`, e.g. `"1"`), so not if it ' +
      'was revoked since.',
    '`precondition-failed`: `If-Match` names no current version of the key.',
  )
  @ApiNoBodyResponse(`Revoked: the key is refused from now on. ${KEY_VERSIONS}`, {
    etag: 'The key',
  })
  @ApiProblemResponse(404, '`api-key-not-found`.')
  async revoke(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const ifMatch = expectedVersionOf(request);
    const { version } = await this.apiKeys.revoke(id, ifMatch);
    reply.header('etag', `"${version}"`);
  }
}

/** The calling key's own secret: with the Idempotency-Key, what opens a retry's answer. */
function callerSecretOf(request: FastifyRequest): string {
  const secret = bearerSecretOf(request);
  // The guard let the request in with this very header.
  if (!secret) throw new Error('POST /api/v1/api-keys reached without a bearer key');
  return secret;
}
