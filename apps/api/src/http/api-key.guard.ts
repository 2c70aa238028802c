import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeysService, roleGrants, type ApiKeyRole, type Principal } from '@app/api-keys';
import type { FastifyRequest } from 'fastify';
import { ApiProblem } from './api-problem';
import { PUBLIC_METADATA, ROLES_METADATA } from './auth.decorators';
import { bearerSecretOf } from './bearer';
import { setPrincipal } from './principal';

type Access = { kind: 'public' } | { kind: 'role'; role: ApiKeyRole } | { kind: 'undeclared' };

/**
 * The global guard (SPEC §4): `Authorization: Bearer <key>`, then the route's `@Roles`.
 * Fails closed: a route that declares neither `@Roles` nor `@Public` is refused to everyone.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ApiKeysService) private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.accessOf(context);
    if (access.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = await this.authenticate(request);
    setPrincipal(request, principal);
    if (access.kind === 'undeclared') {
      this.logger.error(
        `${context.getClass().name}.${context.getHandler().name} declares neither @Roles nor ` +
          '@Public: refused',
      );
      throw forbidden('This route is not open to any role.');
    }
    if (!roleGrants(principal.role, access.role)) {
      throw forbidden(`This needs the ${access.role} role; the key has ${principal.role}.`, {
        requiredRole: access.role,
      });
    }
    return true;
  }

  /** The nearest declaration: the handler's, else the controller's. */
  private accessOf(context: ExecutionContext): Access {
    for (const target of [context.getHandler(), context.getClass()]) {
      if (this.reflector.get<boolean>(PUBLIC_METADATA, target)) return { kind: 'public' };
      const role = this.reflector.get<ApiKeyRole | undefined>(ROLES_METADATA, target);
      if (role) return { kind: 'role', role };
    }
    return { kind: 'undeclared' };
  }

  private async authenticate(request: FastifyRequest): Promise<Principal> {
    const secret = bearerSecretOf(request);
    if (!secret) {
      throw unauthenticated('Send an API key as "Authorization: Bearer <key>".', 'Bearer');
    }
    const principal = await this.apiKeys.authenticate(secret);
    if (!principal) {
      throw unauthenticated(
        'The API key is unknown or revoked.',
        'Bearer error="invalid_token", error_description="The API key is unknown or revoked"',
      );
    }
    return principal;
  }
}

function unauthenticated(detail: string, challenge: string): ApiProblem {
  return new ApiProblem(
    401,
    'unauthenticated',
    'Unauthenticated',
    detail,
    {},
    {
      'www-authenticate': challenge,
    },
  );
}

function forbidden(detail: string, extras: Record<string, unknown> = {}): ApiProblem {
  return new ApiProblem(403, 'forbidden', 'Forbidden', detail, extras);
}
