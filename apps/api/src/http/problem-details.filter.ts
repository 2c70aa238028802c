import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from './api-problem';
import { clientWentAway } from './client-went-away';
import { type ServerFacts, toProblem } from './to-problem';

/**
 * Answers every error as RFC 9457 `application/problem+json` (see toProblem for the mapping).
 * Registered globally, so it also receives unknown routes and Fastify's body-parsing errors.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');
  private readonly server: ServerFacts;

  constructor(@Inject(ACCORD_CONFIG) config: AccordConfig) {
    this.server = { databaseHost: new URL(config.DATABASE_URL).hostname };
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (clientWentAway(exception, request)) {
      // Nobody to answer, and nothing wrong here: not an error for the logs (any client could
      // fill them by hanging up mid-upload).
      this.logger.debug(`${request.method} ${request.url.split('?')[0]}: the client went away`);
      return;
    }
    const problem = toProblem(
      exception,
      {
        ifMatch: request.headers['if-match'] !== undefined,
        bodyLimit: request.routeOptions?.bodyLimit,
      },
      this.server,
    );
    const status = problem.getStatus();
    // The path only: a query may carry a credential (the calendar feed's token).
    const path = request.url.split('?')[0];
    if (status === 503) {
      // Expected while a dependency is away or the read side catches up: no stack to read.
      this.logger.warn(
        `${request.method} ${path} answered 503 ${problem.code}: ${describe(exception)}`,
      );
    } else if (status >= 500) {
      this.logger.error(
        `${request.method} ${path} failed: ${describe(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    if (reply.sent) return;
    const document = { ...problem.toDocument(), instance: path };
    void reply
      .status(status)
      .headers(problem.headers)
      .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
      .send(JSON.stringify(document));
  }
}

function describe(exception: unknown): string {
  if (exception instanceof Error) return `${exception.name}: ${exception.message}`;
  return String(exception);
}
