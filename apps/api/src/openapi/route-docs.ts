import type { OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger';
import { schemaRef, type RequestBodyName, type SchemaName } from './openapi-schemas';

/**
 * What the document says about the health routes, whose controller carries no OpenAPI
 * decorators, by operation id (`<Controller>_<method>`); every other route is described by its
 * own decorators. A name that matches no operation fails the document, so a renamed handler
 * cannot silently lose its description.
 */
export interface RouteDoc {
  requestBody?: RequestBodyName;
  parameters?: ParameterObject[];
  responses?: Record<number, ResponseObject>;
}

const json = (name: SchemaName, description: string): ResponseObject => ({
  description,
  content: { 'application/json': { schema: schemaRef(name) } },
});

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  HealthController_live: {
    responses: { 200: json('Liveness', 'The process answers.') },
  },
  HealthController_ready: {
    responses: {
      200: json('Readiness', 'PostgreSQL and Redis answer and no migration is pending.'),
      503: json('Readiness', 'A check failed; `checks` says which.'),
    },
  },
};

/** Applies a RouteDoc to the scanned operation (its parameters replace same-named ones). */
export function applyRouteDoc(operation: OperationObject, doc: RouteDoc): void {
  if (doc.requestBody) {
    operation.requestBody = {
      required: true,
      content: { 'application/json': { schema: schemaRef(doc.requestBody) } },
    };
  }
  if (doc.parameters) {
    const replaced = new Set(doc.parameters.map((p) => `${p.in}:${p.name}`));
    operation.parameters = [
      ...(operation.parameters ?? []).filter(
        (p) => !('name' in p) || !replaced.has(`${p.in}:${p.name}`),
      ),
      ...doc.parameters,
    ];
  }
  if (doc.responses) {
    // The scanner's guess (`201: ''` for every POST) goes once a route says what it answers.
    operation.responses = Object.fromEntries(
      Object.entries({ ...operation.responses, ...doc.responses }).filter(
        ([, response]) => !('description' in response) || response.description !== '',
      ),
    );
  }
}
