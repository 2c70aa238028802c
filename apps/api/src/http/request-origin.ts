import type { FastifyRequest } from 'fastify';

/**
 * The origin a client reached the api at, from the request (its protocol and `Host`), for the
 * absolute URLs of answers read outside a browser: the feed URL, the calendar's links.
 */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
