export {
  ApiProblem,
  PROBLEM_CONTENT_TYPE,
  problemType,
  statusProblem,
  type ProblemDocument,
} from './api-problem';
export { CurrentPrincipal, Public, Roles } from './auth.decorators';
export { bearerSecretOf } from './bearer';
export { clientWentAway } from './client-went-away';
export { principalOf } from './principal';
export { publicBaseUrl } from './public-base-url';
export {
  ZodPipe,
  ensureStorable,
  parseBody,
  parseInput,
  parseQuery,
  validationProblem,
  type FieldError,
  type InputLocation,
} from './zod-body';
export { ApiHttpModule } from './api-http.module';
export { expectedVersionOf } from './if-match';
export {
  allowedMethods,
  createFastifyAdapter,
  methodNotAllowed,
  type ProblemFastifyAdapter,
  type RefusedRequest,
} from './fastify-adapter';
export { toProblem } from './to-problem';
export type { Principal } from '@app/api-keys';
