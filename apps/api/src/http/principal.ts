import type { Principal } from '@app/api-keys';

// Kept beside the request rather than on it, so that no global type of Fastify is widened.
const principals = new WeakMap<object, Principal>();

export function setPrincipal(request: object, principal: Principal): void {
  principals.set(request, principal);
}

/** The authenticated caller of a request, for interceptors and the like. */
export function principalOf(request: object): Principal | undefined {
  return principals.get(request);
}
