import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { WriteOptions, WriteResult } from '@app/trade';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem, ensureStorable, expectedVersionOf, principalOf } from '../http';
import { requestFingerprint } from '../http/request-fingerprint';

/**
 * `If-Match`, `Idempotency-Key`, `X-Correlation-Id` and the caller, as the write side wants
 * them. The idempotency key is scoped to the API key, so two clients cannot collide.
 */
export const WriteContext = createParamDecorator(
  (_data: unknown, context: ExecutionContext): WriteOptions => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = principalOf(request);
    if (!principal) throw new Error('@WriteContext() used on a route without @Roles');
    const idempotencyKey = header(request, 'idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new ApiProblem(
        400,
        'invalid-idempotency-key',
        'Invalid Idempotency-Key',
        'Idempotency-Key must be 1 to 200 visible ASCII characters.',
      );
    }
    const correlationId = header(request, 'x-correlation-id');
    // Before the fingerprint serializes the body: a body nested thousands deep is a 400 here as
    // it is without a key, not a stack overflow in the serializer.
    if (idempotencyKey !== undefined) ensureStorable(request.body, 'body');
    return {
      actor: principal.name,
      expectedVersion: expectedVersionOf(request),
      commandId: idempotencyKey && `idempotency:${principal.keyId}:${idempotencyKey}`,
      correlationId: correlationId?.slice(0, 200),
      requestFingerprint:
        idempotencyKey &&
        requestFingerprint(request.method, request.routeOptions.url ?? '', request.body),
    };
  },
);

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Sets the status, the ETag (the stream's new version) and, for a write that creates something,
 * 201 with Location: the measure or agreement written to, the resource the ETag versions and
 * the one a GET answers. (What a write creates inside it, a suspension, an exclusion or a
 * commitment, has no URL of its own, only its id in the body.)
 */
export function sendWriteResult(
  reply: FastifyReply,
  result: WriteResult,
  created?: { location: string },
): WriteResult {
  reply.header('etag', `"${result.version}"`);
  if (created) reply.header('location', created.location);
  // A retry (same Idempotency-Key) repeats the first response, status included.
  reply.status(created ? 201 : 200);
  return result;
}
