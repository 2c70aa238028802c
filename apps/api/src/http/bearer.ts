import type { FastifyRequest } from 'fastify';

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The API key a request presents as `Authorization: Bearer <key>`, or undefined. The one reading
 * of the header: the guard authenticates with it, and a route that needs the caller's own secret
 * (an API key creation's retry) gets the very key the guard let in.
 */
export function bearerSecretOf(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  return BEARER.exec(request.headers.authorization ?? '')?.[1];
}
