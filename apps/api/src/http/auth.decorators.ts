import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { ApiKeyRole, Principal } from '@app/api-keys';
import { principalOf } from './principal';

export const ROLES_METADATA = 'accord:roles';
export const PUBLIC_METADATA = 'accord:public';

/**
 * The least role a route needs (admin ⊃ editor ⊃ viewer), on a controller or a handler; the
 * handler's declaration wins. A route with neither `@Roles` nor `@Public` is refused.
 */
export const Roles = (role: ApiKeyRole) => SetMetadata(ROLES_METADATA, role);

/** Open to anyone, without a key (health, docs). */
export const Public = () => SetMetadata(PUBLIC_METADATA, true);

/** The caller's `{ keyId, name, role }`, on routes that need a role. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = principalOf(context.switchToHttp().getRequest<object>());
    // Only a @Public route gets here without one: asking for it there is a programming error.
    if (!principal) throw new Error('@CurrentPrincipal() used on a route without @Roles');
    return principal;
  },
);
