export { DOCS_PATH, installOpenApi, OPENAPI_JSON_PATH } from './install-openapi';
export { buildOpenApiDocument, BEARER_SCHEME } from './openapi-document';
export {
  ApiIdempotencyKey,
  ApiIdOrCodeParam,
  ApiIfMatch,
  ApiIdParam,
  ApiProblemResponse,
  ApiJsonResponse,
  ApiNoBodyResponse,
  ApiReadText,
  ApiWrite,
  type ApiJsonResponseOptions,
  type ApiWriteOptions,
} from './openapi.decorators';
export { REQUEST_BODY_SCHEMAS, RESPONSE_SCHEMAS, schemaRef } from './openapi-schemas';
export { webhookSubscriptionBody } from './webhook-schemas';
