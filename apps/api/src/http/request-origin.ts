import type { FastifyRequest } from 'fastify';

/**
 * The origin clients reach the api at, for the absolute URLs of answers read outside a browser
 * (the feed URL, the calendar's links): `PUBLIC_BASE_URL` when the server has one (behind a
 * proxy, the request's own scheme and host are the proxy's side of it), else the request's
 * protocol and `Host`.
 */
export function requestOrigin(request: FastifyRequest, publicBaseUrl?: string): string {
  return publicBaseUrl ?? `${request.protocol}://${request.host}`;
}
