import { createHash } from 'node:crypto';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  DELIVERY_STATUSES,
  WebhookSubscriptionsService,
  createWebhookSubscriptionSchema,
  updateWebhookSubscriptionSchema,
  type CreateWebhookSubscriptionInput,
  type UpdateWebhookSubscriptionInput,
} from '@app/webhooks';
import type { WriteOptions } from '@app/trade';
import { canonicalJson } from '@app/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { expectedVersionOf, Roles, ZodPipe } from '../http';

import {
  cursorQuery,
  instantQuery,
  noQuery,
  pageLimitQuery,
  type NoQuery,
} from '../read-models/query-values';
import { withCursor } from '../read-models/window-query';
import { WriteContext } from '../write/write-request';
import {
  ApiIdempotencyKey,
  ApiIfMatch,
  ApiJsonResponse,
  ApiProblemResponse,
  webhookSubscriptionBody,
} from '../openapi';
import {
  toDeliveryDto,
  toSubscriptionDto,
  toSubscriptionWithSecretDto,
  type WebhookDeliveryDto,
  type WebhookSubscriptionDto,
  type WebhookSubscriptionWithSecretDto,
} from './webhooks.dto';

const pageQuery = z.strictObject({ cursor: cursorQuery(200), limit: pageLimitQuery });
const deliveriesQuery = pageQuery.extend({
  status: z.enum(DELIVERY_STATUSES).optional().describe('Only the deliveries in this status.'),
});
const replayQuery = z
  .strictObject({
    since: instantQuery.describe(
      'Re-send the finished deliveries created from this instant on (inclusive); before now.',
    ),
    until: instantQuery
      .optional()
      .describe('… and before this one (exclusive), later than `since`. Default: now.'),
  })
  // `until` defaults to now: a `since` after it would be an empty window answered as `replayed: 0`.
  .refine((query) => new Date(query.since) < new Date(), {
    message: 'must be before now',
    path: ['since'],
  })
  .refine((query) => !query.until || new Date(query.until) > new Date(query.since), {
    message: 'until must be after since',
    path: ['until'],
  });

const URL_REFUSED =
  '`webhook-url-refused`: the URL is not http(s), or resolves to a non-public address.';
/** What every later write's `Idempotency-Key` adds to what a retry with it answers. */
const KEY_SCOPE =
  'Keys are per API key; the same key on another request (another route, subscription, ' +
  'delivery, body or query) is a 422 `idempotency-key-reused`.';
const KEY_REUSED =
  '`idempotency-key-reused`: the `Idempotency-Key` was used for a different request.';
const KEY_IN_USE =
  '`idempotency-key-in-use`: a request with this `Idempotency-Key` changed its subscription ' +
  'meanwhile; retry.';
const SECRET_NOT_SHOWN_AGAIN =
  '`idempotency-key-superseded`: a retry (same `Idempotency-Key`) whose secret a rotation has ' +
  'replaced since, with `subscriptionId` (the subscription the key made or rotated), ' +
  '`currentVersion` and, for a rotation, `rotatedVersion`; `idempotency-key-expired`: a retry more than a day after its request. ' +
  'Nothing is changed; rotate with a new key to get a secret.';
const CREATED_THEN_DELETED =
  '`webhook-subscription-deleted`: a retried creation (same `Idempotency-Key`) whose ' +
  'subscription, named in `subscriptionId`, was deleted since; nothing is created again.';
const SUBSCRIPTION_DISABLED =
  '`webhook-subscription-disabled`: the subscription is disabled; enable it first.';

const SUBSCRIPTION_NOT_FOUND = '`webhook-subscription-not-found`: no subscription has this id.';
const DELIVERY_NOT_FOUND =
  '`webhook-delivery-not-found`: the subscription has no delivery with this id.';

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
  // The answer carries a secret: no cache, shared or the client's, may keep it.
  @Header('cache-control', 'no-store')
  @ApiProblemResponse(422, `${URL_REFUSED} ${KEY_REUSED}`)
  @ApiProblemResponse(409, `${SECRET_NOT_SHOWN_AGAIN} ${CREATED_THEN_DELETED} ${KEY_IN_USE}`)
  @HttpCode(201)
  @ApiOperation({ summary: 'Subscribe a URL; the response is the only time its secret is shown' })
  @ApiIdempotencyKey(
    'Makes the creation safe to retry: a retry with the same key and the same request answers ' +
      'with the subscription the first one made (its secret included, for a day and while no ' +
      'rotation has replaced it), and creates nothing; the same key on another request is a ' +
      '422 `idempotency-key-reused`.',
  )
  @ApiBody({ schema: webhookSubscriptionBody(createWebhookSubscriptionSchema) })
  @ApiJsonResponse('WebhookSubscriptionWithSecret', 'Subscribed; `secret` is shown this once.', {
    status: 201,
    etag: 'The subscription',
    location: true,
  })
  async create(
    @Body(new ZodPipe(createWebhookSubscriptionSchema)) body: CreateWebhookSubscriptionInput,
    @WriteContext() write: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionWithSecretDto> {
    const idempotency =
      write.commandId && write.requestFingerprint
        ? { key: write.commandId, fingerprint: write.requestFingerprint }
        : undefined;
    const created = toSubscriptionWithSecretDto(await this.subscriptions.create(body, idempotency));
    reply.header('location', `/api/v1/webhook-subscriptions/${created.id}`);
    return versioned(reply, created);
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
  @ApiJsonResponse('WebhookSubscription', 'The subscription.', { etag: 'The subscription' })
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  async get(
    @Param('id') id: string,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionDto> {
    return versioned(reply, toSubscriptionDto(await this.subscriptions.get(id)));
  }

  @Patch(':id')
  @ApiProblemResponse(422, `${URL_REFUSED} ${KEY_REUSED}`)
  @ApiProblemResponse(409, `${SECRET_NOT_SHOWN_AGAIN} ${KEY_IN_USE}`)
  @ApiOperation({
    summary:
      'Change a subscription; re-enabling resets its failures and replays what it missed while failing or disabled',
  })
  @ApiBody({ schema: webhookSubscriptionBody(updateWebhookSubscriptionSchema) })
  @ApiIfMatchVersion()
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  @ApiIdempotencyKey(
    'Makes the change safe to retry: a retry with the same key and the same request answers as ' +
      'the first did (the subscription as that change left it, its version and `ETag`) and ' +
      'changes nothing, even if the subscription changed since. ' +
      KEY_SCOPE,
  )
  @ApiJsonResponse('WebhookSubscription', 'The subscription as changed.', {
    etag: 'The subscription',
  })
  async update(
    @Param('id') id: string,
    @Body(new ZodPipe(updateWebhookSubscriptionSchema)) body: UpdateWebhookSubscriptionInput,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionDto> {
    const ifMatch = expectedVersionOf(request);
    return versioned(
      reply,
      toSubscriptionDto(
        await this.subscriptions.update(id, body, ifMatch, idempotencyOf(write, request)),
      ),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiIfMatchVersion()
  @ApiOperation({ summary: 'Delete a subscription and its delivery log' })
  @ApiResponse({ status: 204, description: 'Deleted, with its delivery log. No body.' })
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  delete(@Param('id') id: string, @Req() request: FastifyRequest): Promise<void> {
    const ifMatch = expectedVersionOf(request);
    return this.subscriptions.delete(id, ifMatch);
  }

  @Post(':id/rotate-secret')
  // The answer carries a secret: no cache, shared or the client's, may keep it.
  @Header('cache-control', 'no-store')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A new secret, shown once; the old one keeps signing beside it for a grace period',
  })
  @ApiIfMatchVersion()
  @ApiIdempotencyKey(
    'Makes the rotation safe to retry (an answer lost on the way): a retry with the same key ' +
      'and the same request rotates nothing and answers with the first rotation’s result, the ' +
      'same new `secret` and version, as long as that secret is still the current one. Once ' +
      'another rotation has replaced it, the retry is a 409 `idempotency-key-superseded` ' +
      '(with `subscriptionId`, `rotatedVersion` and `currentVersion`), and after a day a 409 ' +
      '`idempotency-key-expired`; never a second rotation: rotate with a new key to get a secret. ' +
      KEY_SCOPE,
  )
  @ApiProblemResponse(409, `${SECRET_NOT_SHOWN_AGAIN} ${KEY_IN_USE}`)
  @ApiProblemResponse(422, KEY_REUSED)
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  @ApiJsonResponse(
    'WebhookSubscriptionWithSecret',
    'Rotated; the new `secret` is shown this once.',
    {
      etag: 'The subscription',
    },
  )
  async rotateSecret(
    @Param('id') id: string,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookSubscriptionWithSecretDto> {
    const ifMatch = expectedVersionOf(request);
    const rotated = await this.subscriptions.rotateSecret(
      id,
      ifMatch,
      idempotencyOf(write, request),
    );
    return versioned(reply, toSubscriptionWithSecretDto(rotated));
  }

  @Post(':id/test')
  @ApiProblemResponse(409, `${SUBSCRIPTION_DISABLED} ${KEY_IN_USE}`)
  @ApiProblemResponse(422, KEY_REUSED)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a `ping` to this subscription now' })
  @ApiIdempotencyKey(
    'Makes the test safe to retry: each test is a new ping, so a retry without a key sends ' +
      'another. A retry with the same key and the same request answers with the first ' +
      'request’s ping (`deliveryId`, `webhookId`) and sends nothing. ' +
      KEY_SCOPE,
  )
  @ApiJsonResponse('WebhookTestResult', 'The ping is queued.', { status: 202 })
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  test(
    @Param('id') id: string,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
  ): Promise<{ deliveryId: string; webhookId: string }> {
    return this.subscriptions.test(id, idempotencyOf(write, request));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'The delivery log, newest first, each delivery with its attempts' })
  @ApiJsonResponse('WebhookDeliveryList', 'A page of deliveries, newest first.')
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  async deliveries(
    @Param('id') id: string,
    @Query(new ZodPipe(deliveriesQuery)) query: z.output<typeof deliveriesQuery>,
  ): Promise<{ items: WebhookDeliveryDto[]; nextCursor: string | null }> {
    return withCursor(async () => {
      const page = await this.subscriptions.deliveries(id, query);
      return { items: page.items.map(toDeliveryDto), nextCursor: page.nextCursor };
    });
  }

  @Get(':id/deliveries/:deliveryId')
  @ApiOperation({ summary: 'One delivery with its attempts' })
  @ApiJsonResponse('WebhookDelivery', 'The delivery with its attempts.')
  @ApiProblemResponse(404, `${SUBSCRIPTION_NOT_FOUND} ${DELIVERY_NOT_FOUND}`)
  async delivery(
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
    @Query(new ZodPipe(noQuery)) _query: NoQuery,
  ): Promise<WebhookDeliveryDto> {
    return toDeliveryDto(await this.subscriptions.delivery(id, deliveryId));
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @ApiProblemResponse(
    409,
    `${SUBSCRIPTION_DISABLED} \`webhook-delivery-not-retryable\`: the delivery is being sent ` +
      `or was cancelled. ${KEY_IN_USE}`,
  )
  @ApiProblemResponse(422, KEY_REUSED)
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a delivery again now, with the same webhook-id' })
  @ApiIdempotencyKey(
    'Makes the retry safe to retry: without a key, a retried request that arrives after the ' +
      'delivery succeeded sends it once more. A retry with the same key and the same request ' +
      'sends nothing and answers with the delivery as it is now. ' +
      KEY_SCOPE,
  )
  @ApiJsonResponse('WebhookDelivery', 'The delivery, queued to be sent again now.', {
    status: 202,
  })
  @ApiProblemResponse(404, `${SUBSCRIPTION_NOT_FOUND} ${DELIVERY_NOT_FOUND}`)
  async retry(
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDeliveryDto> {
    return toDeliveryDto(
      await this.subscriptions.retry(id, deliveryId, idempotencyOf(write, request)),
    );
  }

  @Post(':id/replay')
  @ApiProblemResponse(409, `${SUBSCRIPTION_DISABLED} ${KEY_IN_USE}`)
  @ApiProblemResponse(422, KEY_REUSED)
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Re-send every finished delivery created in [since, until) (until: now), each with its own webhook-id',
  })
  @ApiIdempotencyKey(
    'Makes the replay safe to retry: without a key, a retried replay sends the window again. ' +
      'A retry with the same key and the same request (the same `since` and `until`) answers ' +
      'as the first did and re-sends nothing. ' +
      KEY_SCOPE,
  )
  @ApiJsonResponse('WebhookReplayResult', 'The deliveries are queued again.', { status: 202 })
  @ApiProblemResponse(404, SUBSCRIPTION_NOT_FOUND)
  replay(
    @Param('id') id: string,
    @Query(new ZodPipe(replayQuery)) query: z.output<typeof replayQuery>,
    @WriteContext() write: WriteOptions,
    @Req() request: FastifyRequest,
  ): Promise<{ replayed: number }> {
    return this.subscriptions.replay(
      id,
      {
        since: new Date(query.since),
        until: query.until ? new Date(query.until) : new Date(),
      },
      idempotencyOf(write, request),
    );
  }
}

/**
 * The caller's `Idempotency-Key` (scoped to its API key) on a write to one subscription, with a
 * fingerprint of the request: the route and body (as WriteContext digests them), and the path
 * and query it was sent to, which name the subscription, the delivery and a replay's window.
 */
function idempotencyOf(
  write: WriteOptions,
  request: FastifyRequest,
): { key: string; fingerprint: string } | undefined {
  if (!write.commandId || !write.requestFingerprint) return undefined;
  // What the request names, not how its URL spells it: a retry may write an id in capitals or
  // its query in another order or encoding, and is still the same request.
  const params = Object.entries(request.params as Record<string, string>)
    .map(([name, value]): [string, string] => [name, value.toLowerCase()])
    .sort(byName);
  const query = Object.entries(request.query as Record<string, unknown>).sort(byName);
  // As sorted entries, not objects: the fingerprints stored before were made of this shape, and
  // the canonical form of it (strings, and arrays of them for a repeated parameter) is the same.
  const fingerprint = createHash('sha256')
    .update(`${write.requestFingerprint}\n${canonicalJson({ params, query })}`)
    .digest('base64url');
  return { key: write.commandId, fingerprint };
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Sends the subscription's version as its `ETag`, the tag `If-Match` compares. */
function versioned<T extends { version: number }>(reply: FastifyReply, subscription: T): T {
  reply.header('etag', `"${subscription.version}"`);
  return subscription;
}

/** `If-Match` on a change of a subscription, with its 400 and 412. */
function ApiIfMatchVersion(): MethodDecorator {
  return ApiIfMatch(
    'Makes the change conditional on the subscription’s version (its `ETag`, e.g. `"3"`), ' +
      'or on any of a list of them.',
    '`precondition-failed`: `If-Match` names no current version of the subscription.',
  );
}
