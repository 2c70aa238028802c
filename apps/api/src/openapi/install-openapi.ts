import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from './openapi-document';
import { swaggerUiAsset, swaggerUiHtml } from './swagger-ui';

export const OPENAPI_JSON_PATH = '/api/openapi.json';
export const DOCS_PATH = '/api/docs';

/**
 * Serves the OpenAPI document at `/api/openapi.json` and Swagger UI at `/api/docs`, open to
 * anyone. They are routes of the Fastify instance itself, outside Nest's router, so no guard
 * runs on them (they need no key by construction) and they are not in the document. The
 * document is built on its first request, then kept: the routes do not change while running.
 */
export function installOpenApi(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  let document: string | undefined;
  const html = swaggerUiHtml({ title: 'Accord API', assets: 'docs', document: 'openapi.json' });

  fastify.get(OPENAPI_JSON_PATH, (_request, reply) => {
    document ??= JSON.stringify(buildOpenApiDocument(app) satisfies OpenAPIObject);
    return reply
      .header('cache-control', 'no-cache')
      .type('application/json; charset=utf-8')
      .send(document);
  });
  fastify.get(DOCS_PATH, (_request, reply) =>
    reply
      .header('cache-control', 'no-cache')
      // Where keys are typed in: never inside another site's frame (clickjacking).
      .header('x-frame-options', 'DENY')
      .header('content-security-policy', "frame-ancestors 'none'")
      .type('text/html; charset=utf-8')
      .send(html),
  );
  fastify.get<{ Params: { asset: string } }>(`${DOCS_PATH}/:asset`, async (request, reply) => {
    // `/api/docs/` is the page, whose relative links only resolve without the slash.
    if (request.params.asset === '') return reply.redirect('../docs', 301);
    const asset = swaggerUiAsset(request.params.asset);
    if (!asset) return reply.callNotFound();
    const { contentType, body } = await asset;
    return reply.header('cache-control', 'public, max-age=86400').type(contentType).send(body);
  });
}
