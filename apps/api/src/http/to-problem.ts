import { HttpException } from '@nestjs/common';
import { isDomainError, type DomainError } from '@app/domain';
import {
  ApiKeyIdempotencyKeyReusedError,
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  ApiKeySecretUnavailableError,
  ApiKeyVersionMismatchError,
} from '@app/api-keys';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import {
  SecretSupersededError,
  SubscriptionDeletedSinceError,
  WebhookDeliveryNotFoundError,
  WebhookStateConflictError,
  WebhookSubscriptionNotFoundError,
  WebhookUrlRefusedError,
} from '@app/webhooks';
import type { FastifyError } from 'fastify';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { ApiProblem, statusProblem } from './api-problem';
import { FastifyRequestError, isFastifyError } from './fastify-adapter';

/** What the mapping needs to know about the request that failed. */
export interface RequestFacts {
  /** The request carried `If-Match`: a version conflict is then a failed precondition. */
  ifMatch: boolean;
  bodyLimit?: number;
}

/** What the mapping needs to know about the server. */
export interface ServerFacts {
  /** The host name of `DATABASE_URL`: a failed lookup of it is PostgreSQL out of reach. */
  databaseHost?: string;
}

const DOMAIN_STATUS = { invalid: 422, 'not-found': 404, conflict: 409 } as const;

/**
 * The one place that maps errors to HTTP (STYLE.md rule 2). Anything it does not know is a 500
 * `internal-error` whose body says nothing about the cause; the filter logs the cause.
 */
export function toProblem(
  exception: unknown,
  request: RequestFacts,
  server: ServerFacts = {},
): ApiProblem {
  if (exception instanceof ApiProblem) return exception;
  if (isDomainError(exception)) return fromDomainError(exception);
  if (exception instanceof WrongExpectedVersionError) {
    const currentVersion = exception.actual;
    return request.ifMatch
      ? new ApiProblem(
          412,
          'precondition-failed',
          'Precondition failed',
          `If-Match does not name the current version ${currentVersion}.`,
          { currentVersion },
        )
      : new ApiProblem(
          409,
          'wrong-expected-version',
          'Wrong expected version',
          `Another change reached the resource first; it is now at version ${currentVersion}.`,
          { currentVersion },
        );
  }
  if (exception instanceof CommandIdReusedError) {
    return new ApiProblem(
      422,
      'idempotency-key-reused',
      'Idempotency key reused',
      'This Idempotency-Key was already used for a different request.',
    );
  }
  const fromLib = fromApiKeysError(exception) ?? fromWebhooksError(exception);
  if (fromLib) return fromLib;
  if (exception instanceof FastifyRequestError)
    return fromFastifyError(exception.original, request);
  if (isFastifyError(exception)) return fromFastifyError(exception, request);
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (isDatabaseUnavailable(exception, server)) return databaseUnavailable();
  return internalError();
}

/** Node's errors for a server that cannot be reached, as node-postgres passes them on. */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/**
 * SQLSTATEs of a server going away, not taking connections or too busy to answer in time:
 * class 08 (connection exception), class 53 (insufficient resources: 53300, every connection
 * slot taken, among them), 57014 (a statement cancelled, which is what `statement_timeout`
 * does) and 57P01–57P03 (shut down by an administrator, crashed, starting up or shutting down).
 * Each passes: the same request may well succeed in a moment.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57014|57P0[1-3])$/;
/** What node-postgres and its pool say when a connection ends or cannot be had in time. */
const CONNECTION_LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)/;

/**
 * PostgreSQL could not be reached, or dropped the connection: the request may succeed later,
 * which a client's retry logic needs to know (a 500 says "this request is broken"). Only what
 * comes from PostgreSQL access counts, so that another dependency's failure (a webhook host
 * that does not resolve, a Redis error) is not reported as the database's:
 * - TypeORM's QueryFailedError, by the error of node-postgres it carries (`driverError`);
 * - node-postgres's DatabaseError with a SQLSTATE above, and its own connection-lost errors;
 * - Node's socket errors, which node-postgres hands on as they are. They do not say who opened
 *   the socket; in the api only node-postgres lets them reach a request (undici wraps its own
 *   in `fetch failed`, ioredis fails a command with errors of its own). A failed lookup names
 *   its host, and counts only for the database's.
 */
function isDatabaseUnavailable(exception: unknown, server: ServerFacts): boolean {
  const error: unknown =
    exception instanceof QueryFailedError ? (exception.driverError as unknown) : exception;
  // Not `instanceof Error`: Node's own errors may come from another realm (a test's vm).
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof DatabaseError) return UNAVAILABLE_SQLSTATE.test(error.code ?? '');
  const { message } = error as { message?: unknown };
  if (typeof message === 'string' && CONNECTION_LOST.test(message)) return true;
  // A host with several addresses that all refuse (`localhost`: ::1 and 127.0.0.1): Node
  // answers with an AggregateError carrying the code but no syscall, and each address's
  // error inside it.
  const { errors } = error as { errors?: unknown };
  if (Array.isArray(errors)) return errors.some((inner) => isUnreachable(inner, server));
  return isUnreachable(error, server);
}

/** A Node socket error of a server out of reach (see `isDatabaseUnavailable`). */
function isUnreachable(error: unknown, server: ServerFacts): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, syscall, hostname } = error as Partial<NodeJS.ErrnoException> & {
    hostname?: unknown;
  };
  if (typeof code !== 'string' || !UNREACHABLE_ERRNOS.has(code) || typeof syscall !== 'string')
    return false;
  if (syscall === 'getaddrinfo') return hostname === server.databaseHost;
  return true;
}

function databaseUnavailable(): ApiProblem {
  return new ApiProblem(
    503,
    'database-unavailable',
    'Database unavailable',
    'The database cannot be reached or is too busy at the moment; try again shortly.',
    {},
    { 'retry-after': '5' },
  );
}

function fromDomainError(error: DomainError): ApiProblem {
  const details = error.details;
  const field = typeof details.field === 'string' ? dottedPath(details.field) : undefined;
  // A broken input rule that names its field reads like a validation error too.
  const errors =
    error.kind === 'invalid' && field !== undefined && !('errors' in details)
      ? { errors: [{ field, message: error.message }] }
      : {};
  return new ApiProblem(
    DOMAIN_STATUS[error.kind],
    error.code,
    sentenceFromCode(error.code),
    error.message,
    { ...details, ...(field !== undefined && { field }), ...errors },
  );
}

/** `sources[0].url` → `sources.0.url`: one spelling of a field, as request validation names it. */
function dottedPath(field: string): string {
  return field.replace(/\[(\d+)\]/g, '.$1');
}

function fromFastifyError(error: FastifyError, request: RequestFacts): ApiProblem {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiProblem(400, 'malformed-json', 'Malformed JSON', 'The body is not valid JSON.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiProblem(
        400,
        'malformed-json',
        'Malformed JSON',
        'The body is empty although its content type is application/json.',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiProblem(
        413,
        'payload-too-large',
        'Payload too large',
        request.bodyLimit
          ? `The body is larger than ${request.bodyLimit} bytes.`
          : 'The body is too large.',
        request.bodyLimit ? { limit: request.bodyLimit } : {},
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiProblem(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        'Send the body as application/json.',
      );
    default: {
      const status = error.statusCode ?? 500;
      if (status >= 500 || status < 400) return internalError();
      const { code, title } = statusProblem(status);
      return new ApiProblem(status, code, title, error.message);
    }
  }
}

function fromHttpException(exception: HttpException): ApiProblem {
  const status = exception.getStatus();
  const { code, title } = statusProblem(status);
  // A 5xx message is written for the logs, not for the client.
  if (status >= 500) return new ApiProblem(status, code, title);
  return new ApiProblem(status, code, title, messageOf(exception.getResponse()));
}

function internalError(): ApiProblem {
  return new ApiProblem(500, 'internal-error', 'Internal error', 'The server failed to answer.');
}

function messageOf(response: string | object): string | undefined {
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return undefined;
}

/** `measure-not-found` → `Measure not found`. */
export function sentenceFromCode(code: string): string {
  const words = code.split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What the API-key service refuses. */
function fromApiKeysError(error: unknown): ApiProblem | undefined {
  if (error instanceof ApiKeyNameTakenError)
    return new ApiProblem(409, error.code, 'API key name taken', error.message, {
      name: error.keyName,
    });
  if (error instanceof ApiKeyNotFoundError)
    return new ApiProblem(404, error.code, 'API key not found', error.message, { id: error.id });
  if (error instanceof ApiKeyVersionMismatchError)
    return new ApiProblem(412, error.code, 'Precondition failed', error.message, {
      currentVersion: error.currentVersion,
    });
  if (error instanceof ApiKeyIdempotencyKeyReusedError)
    return new ApiProblem(422, error.code, 'Idempotency key reused', error.message);
  if (error instanceof ApiKeySecretUnavailableError)
    return new ApiProblem(409, error.code, 'API key secret unavailable', error.message, {
      id: error.id,
    });
  return undefined;
}

/** What the webhook-subscriptions service refuses. */
function fromWebhooksError(error: unknown): ApiProblem | undefined {
  if (error instanceof WebhookUrlRefusedError)
    return new ApiProblem(422, error.code, 'Webhook URL refused', error.message, {
      errors: [{ field: 'url', message: error.message }],
    });
  if (error instanceof WebhookSubscriptionNotFoundError)
    return new ApiProblem(404, error.code, 'Webhook subscription not found', error.message, {
      id: error.id,
    });
  if (error instanceof WebhookDeliveryNotFoundError)
    return new ApiProblem(404, error.code, 'Webhook delivery not found', error.message, {
      id: error.id,
    });
  if (error instanceof WebhookStateConflictError)
    return new ApiProblem(409, error.code, sentenceFromCode(error.code), error.message);
  if (error instanceof SubscriptionDeletedSinceError)
    return new ApiProblem(409, error.code, 'Webhook subscription deleted', error.message, {
      subscriptionId: error.subscriptionId,
    });
  if (error instanceof SecretSupersededError)
    return new ApiProblem(409, error.code, 'Idempotency key superseded', error.message, {
      subscriptionId: error.subscriptionId,
      // A creation always made version 1: its retry names the subscription instead.
      ...(error.request === 'rotation' && { rotatedVersion: error.answeredVersion }),
      currentVersion: error.currentVersion,
    });
  return undefined;
}
