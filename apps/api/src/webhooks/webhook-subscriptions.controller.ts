import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  DELIVERY_STATUSES,
  WebhookDeliveryNotFoundError,
  WebhookStateConflictError,
  WebhookSubscriptionNotFoundError,
  WebhookSubscriptionsService,
  WebhookUrlRefusedError,
  createWebhookSubscriptionSchema,
  updateWebhookSubscriptionSchema,
  type CreateWebhookSubscriptionInput,
  type UpdateWebhookSubscriptionInput,
} from '@app/webhooks';
import type { WriteOptions } from '@app/trade';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiProblem, expectedVersionOf, Roles, ZodPipe } from '../http';
import { withCursor } from '../read-models/window-query';
import { WriteContext } from '../write/write-request';
import { ApiJsonResponse, ApiProblemResponse } from '../openapi';
import {
  toDeliveryDto,
  toSubscriptionDto,
  toSubscriptionWithSecretDto,
  type WebhookDeliveryDto,
  type WebhookSubscriptionDto,
  type WebhookSubscriptionWithSecretDto,
} from './webhooks.dto';

const instant = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 instant with an offset',
});
const pageQuery = z.strictObject({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const deliveriesQuery = pageQuery.extend({ status: z.enum(DELIVERY_STATUSES).optional() });
const replayQuery = z
  .strictObject({ since: instant, until: instant.optional() })
  // `until` defaults to now: a `since` after it would be an empty window answered as `replayed: 0`.
  .refine((query) => new Date(query.since) < new Date(), {
    message: 'must be before now',
    path: ['since'],
  })
  .refine((query) => !query.until || new Date(query.until) > new Date(query.since), {
    message: 'until must be after since',
    path: ['until'],
  });

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as object;

/**
 * Webhook subscriptions and their delivery log (SPEC §3, §4), admins only. The signing secret
 * appears in two answers: creation and rotation.
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@Roles('admin')
@Controller('api/v1/webhook-subscriptions')
export class WebhookSubscriptionsController {
  constructor(
    @Inject(WebhookSubscriptionsService)
    private readonly subscriptions: WebhookSubscriptionsService,
  ) {}

  @Post()
  @ApiProblemResponse(
    422,
    '`webhook-url-refused`: the URL is not http(s), or resolves to a non-public address.',
  )
  @HttpCode(201)
  @ApiOperation({ summary: 'Subscribe a URL; the response is the only time its secret is shown' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes the creation safe to retry: a retry with the same key and the same request answers ' +
      'with the subscription the first one made (its secret included), and creates nothing; ' +
      'the same key on another request is a 422 `idempotency-key-reused`.',
    schema: { type: 'string', maxLength: 200 },
  })
  @ApiBody({ schema: jsonSchema(createWebhookSubscriptionSchema) })
  @ApiJsonResponse('WebhookSubscriptionWithSecret', 'Subscribed; `secret` is shown this once.', {
    status: 201,
  })
  create(
    @Body(new ZodPipe(createWebhookSubscriptionSchema)) body: CreateWebhookSubscriptionInput,
    @WriteContext() write: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionWithSecretDto> {
    const idempotency =
      write.commandId && write.requestFingerprint
        ? { key: write.commandId, fingerprint: write.requestFingerprint }
        : undefined;
    return answer(async () => {
      const created = toSubscriptionWithSecretDto(
        await this.subscriptions.create(body, idempotency),
      );
      reply.header('location', `/api/v1/webhook-subscriptions/${created.id}`);
      return versioned(reply, created);
    });
  }

  @Get()
  @ApiOperation({ summary: 'List subscriptions, oldest first (never their secrets)' })
  @ApiJsonResponse('WebhookSubscriptionList', 'A page of subscriptions.')
  list(
    @Query(new ZodPipe(pageQuery)) query: z.output<typeof pageQuery>,
  ): Promise<{ items: WebhookSubscriptionDto[]; nextCursor: string | null }> {
    return withCursor(async () => {
      const page = await this.subscriptions.list(query);
      return { items: page.items.map(toSubscriptionDto), nextCursor: page.nextCursor };
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One subscription, with why it was disabled if it was' })
  @ApiJsonResponse('WebhookSubscription', 'The subscription.')
  get(
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionDto> {
    return answer(async () =>
      versioned(reply, toSubscriptionDto(await this.subscriptions.get(id))),
    );
  }

  @Patch(':id')
  @ApiProblemResponse(
    422,
    '`webhook-url-refused`: the URL is not http(s), or resolves to a non-public address.',
  )
  @ApiOperation({
    summary:
      'Change a subscription; re-enabling resets its failures and replays what it missed while failing or disabled',
  })
  @ApiBody({ schema: jsonSchema(updateWebhookSubscriptionSchema) })
  @ApiIfMatchVersion()
  @ApiJsonResponse('WebhookSubscription', 'The subscription as changed.')
  update(
    @Param('id') id: string,
    @Body(new ZodPipe(updateWebhookSubscriptionSchema)) body: UpdateWebhookSubscriptionInput,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionDto> {
    const ifMatch = expectedVersionOf(request);
    return answer(async () =>
      versioned(reply, toSubscriptionDto(await this.subscriptions.update(id, body, ifMatch))),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiIfMatchVersion()
  @ApiOperation({ summary: 'Delete a subscription and its delivery log' })
  delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    const ifMatch = expectedVersionOf(request);
    return answer(() => this.subscriptions.delete(id, ifMatch));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A new secret, shown once; the old one keeps signing beside it for a grace period',
  })
  @ApiIfMatchVersion()
  @ApiJsonResponse('WebhookSubscriptionWithSecret', 'Rotated; the new `secret` is shown this once.')
  rotateSecret(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionWithSecretDto> {
    const ifMatch = expectedVersionOf(request);
    return answer(async () =>
      versioned(
        reply,
        toSubscriptionWithSecretDto(await this.subscriptions.rotateSecret(id, ifMatch)),
      ),
    );
  }

  @Post(':id/test')
  @ApiProblemResponse(
    409,
    '`webhook-subscription-disabled`: the subscription is disabled; enable it first.',
  )
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a `ping` to this subscription now' })
  @ApiJsonResponse('WebhookTestResult', 'The ping is queued.', { status: 202 })
  test(@Param('id') id: string): Promise<{ deliveryId: string; webhookId: string }> {
    return answer(() => this.subscriptions.test(id));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'The delivery log, newest first, each delivery with its attempts' })
  @ApiJsonResponse('WebhookDeliveryList', 'A page of deliveries, newest first.')
  deliveries(
    @Param('id') id: string,
    @Query(new ZodPipe(deliveriesQuery)) query: z.output<typeof deliveriesQuery>,
  ): Promise<{ items: WebhookDeliveryDto[]; nextCursor: string | null }> {
    return answer(() =>
      withCursor(async () => {
        const page = await this.subscriptions.deliveries(id, query);
        return { items: page.items.map(toDeliveryDto), nextCursor: page.nextCursor };
      }),
    );
  }

  @Get(':id/deliveries/:deliveryId')
  @ApiOperation({ summary: 'One delivery with its attempts' })
  @ApiJsonResponse('WebhookDelivery', 'The delivery with its attempts.')
  delivery(
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<WebhookDeliveryDto> {
    return answer(async () => toDeliveryDto(await this.subscriptions.delivery(id, deliveryId)));
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @ApiProblemResponse(
    409,
    '`webhook-subscription-disabled`: the subscription is disabled; enable it first; `webhook-delivery-not-retryable`: the delivery is being sent or was cancelled.',
  )
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a delivery again now, with the same webhook-id' })
  @ApiJsonResponse('WebhookDelivery', 'The delivery, queued to be sent again now.', {
    status: 202,
  })
  retry(
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<WebhookDeliveryDto> {
    return answer(async () => toDeliveryDto(await this.subscriptions.retry(id, deliveryId)));
  }

  @Post(':id/replay')
  @ApiProblemResponse(
    409,
    '`webhook-subscription-disabled`: the subscription is disabled; enable it first.',
  )
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Re-send every finished delivery created in [since, until) (until: now), each with its own webhook-id',
  })
  @ApiJsonResponse('WebhookReplayResult', 'The deliveries are queued again.', { status: 202 })
  replay(
    @Param('id') id: string,
    @Query(new ZodPipe(replayQuery)) query: z.output<typeof replayQuery>,
  ): Promise<{ replayed: number }> {
    return answer(() =>
      this.subscriptions.replay(id, {
        since: new Date(query.since),
        until: query.until ? new Date(query.until) : new Date(),
      }),
    );
  }
}

/** Sends the subscription's version as its `ETag`, the tag `If-Match` compares. */
function versioned<T extends { version: number }>(reply: FastifyReply, subscription: T): T {
  reply.header('etag', `"${subscription.version}"`);
  return subscription;
}

/** `If-Match` on a change of a subscription, and its 412. */
function ApiIfMatchVersion(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description:
        'Makes the change conditional on the subscription’s version (its `ETag`, e.g. `"3"`), ' +
        'or on any of a list of them: 412 `precondition-failed` with `currentVersion` when it ' +
        'has moved on; 400 `invalid-if-match` when malformed.',
      schema: { type: 'string', example: '"3"' },
    }),
    ApiProblemResponse(
      412,
      '`precondition-failed`: `If-Match` names no current version of the subscription.',
    ),
  );
}

/** Runs a service call and answers its domain errors as problems. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WebhookUrlRefusedError)
      throw new ApiProblem(422, error.code, 'Webhook URL refused', error.message, {
        errors: [{ field: 'url', message: error.message }],
      });
    if (error instanceof WebhookSubscriptionNotFoundError)
      throw new ApiProblem(404, error.code, 'Webhook subscription not found', error.message, {
        id: error.id,
      });
    if (error instanceof WebhookDeliveryNotFoundError)
      throw new ApiProblem(404, error.code, 'Webhook delivery not found', error.message, {
        id: error.id,
      });
    if (error instanceof WebhookStateConflictError)
      throw new ApiProblem(409, error.code, 'Conflict', error.message);
    throw error;
  }
}
