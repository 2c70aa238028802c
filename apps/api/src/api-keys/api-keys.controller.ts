import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  ApiKeysService,
  createApiKeyInputSchema,
  type CreateApiKeyInput,
} from '@app/api-keys';
import { z } from 'zod';
import { ApiProblem, Roles, ZodPipe } from '../http';
import {
  toApiKeyDto,
  toCreatedApiKeyDto,
  type ApiKeyDto,
  type CreatedApiKeyDto,
} from './api-keys.dto';

/** Admins manage keys (SPEC §4). A key's secret appears once, in the creation response. */
@ApiTags('api-keys')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(@Inject(ApiKeysService) private readonly apiKeys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an API key; the response is the only time its key is shown' })
  @ApiBody({
    schema: z.toJSONSchema(createApiKeyInputSchema, { target: 'openapi-3.0' }) as object,
  })
  async create(
    @Body(new ZodPipe(createApiKeyInputSchema)) body: CreateApiKeyInput,
  ): Promise<CreatedApiKeyDto> {
    try {
      return toCreatedApiKeyDto(await this.apiKeys.create(body));
    } catch (error) {
      if (error instanceof ApiKeyNameTakenError) {
        throw new ApiProblem(409, error.code, 'API key name taken', error.message, {
          name: error.keyName,
        });
      }
      throw error;
    }
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never their secrets)' })
  async list(): Promise<{ items: ApiKeyDto[]; nextCursor: null }> {
    const keys = await this.apiKeys.list();
    return { items: keys.map(toApiKeyDto), nextCursor: null };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key' })
  async revoke(@Param('id') id: string): Promise<void> {
    try {
      await this.apiKeys.revoke(id);
    } catch (error) {
      if (error instanceof ApiKeyNotFoundError) {
        throw new ApiProblem(404, error.code, 'API key not found', error.message, { id });
      }
      throw error;
    }
  }
}
