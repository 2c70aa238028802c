import type { INestApplication } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer, Reflector } from '@nestjs/core';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
} from '@nestjs/swagger';
import type { ApiKeyRole } from '@app/api-keys';
import { z } from 'zod';
import { PUBLIC_METADATA, ROLES_METADATA } from '../http/auth.decorators';
import { ZodPipe } from '../http/zod-body';
import { idOrCodeParameter, isIdOrCodeName } from './openapi.decorators';
import { componentSchemas } from './openapi-schemas';
import { problemResponse, type ProblemStatus } from './problem-responses';
import { applyRouteDoc, ROUTE_DOCS } from './route-docs';

export const BEARER_SCHEME = 'bearerAuth';
const BEARER_NAMES = new Set([BEARER_SCHEME, 'bearer']);

const DESCRIPTION = `
Accord records trade agreements and the measures they change — tariffs, suspensions,
exclusions, countermeasures and the parties' claims — as sourced, append-only events.

**Authentication.** Every route except health and these docs needs an API key:
\`Authorization: Bearer <key>\`. Roles: \`viewer\` reads, \`editor\` records facts, \`admin\` also
manages keys (each role includes the ones before it).

**Writes.** A write answers \`{ id, version, position, eventIds, … }\` with the stream's new
version as \`ETag\`. \`If-Match\` makes it conditional (412 on a stale version);
\`Idempotency-Key\` makes a retry return the first response without appending anything.
\`{measure}\` and \`{agreement}\` in a path take the UUID or the code.

**Errors** are RFC 9457 \`application/problem+json\` with a stable \`code\` and, for validation,
\`errors[]\` naming each offending field.
`.trim();

type Access = { kind: 'public' } | { kind: 'role'; role: ApiKeyRole } | { kind: 'undeclared' };

interface Handler {
  /** The zod schema of its `@Query(new ZodPipe(…))`, if it takes one. */
  query?: z.ZodType;
  controller: object;
  access: Access;
}

/**
 * The OpenAPI 3 document of every route of the app: the scanned routes with their decorators,
 * the zod schemas as `components.schemas`, then what applies across routes:
 *  - security from the same `@Roles` / `@Public` metadata the ApiKeyGuard enforces (so the
 *    document cannot claim a route is open when the guard refuses it), with 401 and 403;
 *  - what Fastify answers before any handler runs, on every operation it can reach: 400
 *    `bad-request` for a malformed URL everywhere, and 400 `malformed-json`, 413 and 415 on
 *    every method that may carry a body, whether or not the route reads one (GET and HEAD
 *    bodies are ignored);
 *  - `{measure}` and `{agreement}` as a UUID or a code on every route, decorated or not;
 *  - the query parameters of every route that validates its query with a ZodPipe, from that
 *    schema (so the document lists what the route accepts, and a 400 when it does not; a 503
 *    where it waits for `minPosition`), and on every route with a path parameter a 404 and a
 *    414 (the router refuses a parameter longer than its `maxParamLength` before any handler);
 *  - ROUTE_DOCS for routes whose controllers carry no OpenAPI decorators.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    // 3.1: its schemas are JSON Schema, so a field that may be null says so (`anyOf` with
    // `{ type: 'null' }`), which 3.0's `nullable` cannot say of a `$ref` or an enum.
    .setOpenAPIVersion('3.1.0')
    .setTitle('Accord API')
    .setDescription(DESCRIPTION)
    .setVersion('v1')
    .addSecurity(BEARER_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'An Accord API key (`npm run cli -- api-keys:create`, or `ADMIN_API_KEY`).',
    })
    .addTag('measures', 'Record measures and what happens to them (editor).')
    .addTag('agreements', 'Record agreements and their commitments (editor).')
    .addTag('api-keys', 'Create, list and revoke API keys (admin).')
    .build();
  config.components = { ...config.components, schemas: componentSchemas() };
  const document = SwaggerModule.createDocument(app, config);

  const handlers = handlersOf(app);
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of operationsOf(item)) {
      const handler = operation.operationId ? handlers.get(operation.operationId) : undefined;
      if (!handler) {
        throw new Error(`OpenAPI: no handler found for operation ${operation.operationId}`);
      }
      const doc = ROUTE_DOCS[operation.operationId!];
      if (doc) {
        applyRouteDoc(operation, doc);
        documented.add(operation.operationId!);
      }
      applyAccess(operation, handler.access);
      addMissing(operation, BODY_METHODS.has(method) ? [400, 413, 415] : [400]);
      if (handler.query) describeQueryParameters(operation, handler.query);
      // A route that names a resource in its path answers 404 when there is none, and 414 when
      // the name is longer than the router takes (see createFastifyAdapter's frameworkErrors).
      if (path.includes('{')) addMissing(operation, [404, 414]);
      // Every resource reads or writes PostgreSQL, which may be out of reach for a while.
      if (path.startsWith('/api/v1/')) addMissing(operation, [503]);
      describeIdOrCodeParameters(operation);
    }
  }
  const stale = Object.keys(ROUTE_DOCS).filter((id) => !documented.has(id));
  if (stale.length > 0) {
    throw new Error(`OpenAPI: ROUTE_DOCS names operations that do not exist: ${stale.join(', ')}`);
  }
  return document;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof METHODS)[number];
/** The methods whose body Fastify parses, before any handler, wherever the route is. */
const BODY_METHODS = new Set<Method>(['post', 'put', 'patch', 'delete', 'options']);

function operationsOf(item: OpenAPIObject['paths'][string]): [Method, OperationObject][] {
  return METHODS.flatMap((method) => {
    const operation = item[method];
    return operation ? [[method, operation] as [Method, OperationObject]] : [];
  });
}

function applyAccess(operation: OperationObject, access: Access): void {
  // `@ApiBearerAuth()` without a name says `bearer`: the key is `bearerAuth` here, and where it
  // is needed is the guard's to say. Other schemes a route declares (a feed token) stay.
  const others = (operation.security ?? []).filter(
    (requirement) => !Object.keys(requirement).some((name) => BEARER_NAMES.has(name)),
  );
  if (access.kind === 'public') {
    if (others.length > 0) operation.security = others;
    else delete operation.security;
    return;
  }
  operation.security = [{ [BEARER_SCHEME]: [] }, ...others];
  const who =
    access.kind === 'role'
      ? `Needs an API key with the \`${access.role}\` role` +
        (access.role === 'admin' ? '.' : ' or a higher one.')
      : 'Refused to every key: the route declares no role.';
  operation.description = operation.description ? `${operation.description}\n\n${who}` : who;
  addMissing(operation, [401, 403]);
}

/** A `{measure}` or `{agreement}` that its route left undescribed takes a UUID or a code. */
function describeIdOrCodeParameters(operation: OperationObject): void {
  operation.parameters = operation.parameters?.map((parameter) =>
    'name' in parameter &&
    parameter.in === 'path' &&
    isIdOrCodeName(parameter.name) &&
    parameter.description === undefined
      ? idOrCodeParameter(parameter.name)
      : parameter,
  );
}

/** The properties of the route's query schema as query parameters, those not described yet. */
function describeQueryParameters(operation: OperationObject, schema: z.ZodType): void {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as { properties?: Record<string, { description?: string }>; required?: string[] };
  const described = new Set(
    (operation.parameters ?? []).flatMap((parameter) =>
      'name' in parameter && parameter.in === 'query' ? [parameter.name] : [],
    ),
  );
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    if (described.has(name)) continue;
    operation.parameters = [
      ...(operation.parameters ?? []),
      {
        name,
        in: 'query',
        required: json.required?.includes(name) ?? false,
        description: property.description,
        schema: property,
      },
    ];
  }
  addMissing(operation, [400]);
  if (json.properties && 'minPosition' in json.properties) addMissing(operation, [503]);
}

function addMissing(operation: OperationObject, statuses: ProblemStatus[]): void {
  for (const status of statuses) operation.responses[status] ??= problemResponse(status);
}

/**
 * Every controller method by the operation id the scanner gives it (`<Controller>_<method>`),
 * with its access as the guard reads it: the handler's declaration, else the controller's.
 */
function handlersOf(app: INestApplication): Map<string, Handler> {
  const reflector = new Reflector();
  const handlers = new Map<string, Handler>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype;
      if (!controller || typeof controller !== 'function') continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const method of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[method];
        if (method === 'constructor' || typeof handler !== 'function') continue;
        const id = `${controller.name}_${method}`;
        const known = handlers.get(id);
        if (known?.controller === controller) continue;
        // The scanner would give both the same operation id.
        if (known) throw new Error(`OpenAPI: two controllers are named ${controller.name}`);
        handlers.set(id, {
          controller,
          access: accessOf(reflector, [handler, controller]),
          query: querySchemaOf(controller, method),
        });
      }
    }
  }
  return handlers;
}

function accessOf(reflector: Reflector, targets: [object, object]): Access {
  for (const target of targets) {
    if (reflector.get<boolean>(PUBLIC_METADATA, target as () => void)) return { kind: 'public' };
    const role = reflector.get<ApiKeyRole | undefined>(ROLES_METADATA, target as () => void);
    if (role) return { kind: 'role', role };
  }
  return { kind: 'undeclared' };
}

/** The schema of a handler's whole-query ZodPipe (`@Query(new ZodPipe(schema))`), if any. */
function querySchemaOf(controller: object, method: string): z.ZodType | undefined {
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) as
    Record<string, { data?: unknown; pipes?: unknown[] }> | undefined;
  for (const [key, argument] of Object.entries(args ?? {})) {
    if (Number(key.split(':')[0]) !== Number(RouteParamtypes.QUERY) || argument.data) continue;
    const pipe = argument.pipes?.find((candidate) => candidate instanceof ZodPipe);
    if (pipe) return (pipe as ZodPipe<z.ZodType>).schema;
  }
  return undefined;
}
