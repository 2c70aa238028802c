import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError } from 'fastify';
import { ApiProblem, PROBLEM_CONTENT_TYPE } from './api-problem';

/**
 * A Fastify error (body parsing, content type, body size) on its way to the exception filter.
 * Nest would otherwise turn it into a bare HttpException and lose its code, which is what tells
 * malformed JSON from an empty body or a bad Content-Length (all three are 400s).
 */
export class FastifyRequestError extends Error {
  override readonly name = 'FastifyRequestError';
  constructor(readonly original: FastifyError) {
    super(original.message);
  }
}

export function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    error.name === 'FastifyError' &&
    typeof (error as FastifyError).code === 'string'
  );
}

type ErrorHandler = Parameters<FastifyAdapter['setErrorHandler']>[0];

/**
 * Fastify parses the body before Nest's pipeline runs, so its errors reach Nest through the
 * error handler Nest installs here; this adapter hands them on as FastifyRequestError, and the
 * global ProblemDetailsFilter answers them like every other error.
 */
class ProblemFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(handler: ErrorHandler) {
    return super.setErrorHandler(function (this: unknown, error, request, reply) {
      const passed = isFastifyError(error) ? new FastifyRequestError(error) : error;
      return (handler as (...args: unknown[]) => unknown).call(this, passed, request, reply);
    } as ErrorHandler);
  }
}

/** The part of a reply a router error needs (Nest bundles its own copy of Fastify's types). */
interface RouterReply {
  code(status: number): { type(contentType: string): { send(body: unknown): unknown } };
}

/**
 * The Fastify adapter of the API: JSON bodies only (anything else is a 415; Fastify's built-in
 * text/plain parser is removed), at most `bodyLimit` bytes (413 beyond).
 */
export function createFastifyAdapter(options: { bodyLimit: number }): FastifyAdapter {
  const adapter = new ProblemFastifyAdapter({
    bodyLimit: options.bodyLimit,
    // The router rejects some URLs before any handler or filter exists: answer those in kind.
    frameworkErrors: (error: FastifyError, _request: unknown, reply: unknown) => {
      const problem =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiProblem(414, 'uri-too-long', 'URI too long', 'A path segment is too long.')
          : new ApiProblem(400, 'bad-request', 'Bad request', 'The request URL is malformed.');
      (reply as RouterReply)
        .code(problem.getStatus())
        .type(PROBLEM_CONTENT_TYPE)
        .send(problem.toDocument());
    },
  });
  adapter.getInstance().removeContentTypeParser('text/plain');
  return adapter;
}
