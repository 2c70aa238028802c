import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiProblem, PROBLEM_CONTENT_TYPE, statusProblem } from './api-problem';

/** What Node's `clientError` event passes: its HTTP parser's errors carry an `HPE_…` code. */
export type ClientError = Error & { code?: string };

/**
 * The problem for a request Node's HTTP parser refused: no Fastify request, route or filter
 * exists yet, so this is the only place that can answer it. The statuses are Node's own.
 */
export function clientErrorProblem(error: ClientError): ApiProblem {
  switch (error.code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      // The request line counts: a long query string ends here too.
      return problem(
        431,
        `The request line and headers are longer than ${maxHeaderSize} bytes together.`,
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return problem(413, 'The chunk extensions of the body are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return problem(408, 'The request was not received in time.');
    case 'HPE_INVALID_URL':
      return problem(
        400,
        'The request URL is malformed: characters outside ASCII, spaces and controls must be percent-encoded.',
      );
    default:
      return problem(400, 'The request is not valid HTTP/1.1.');
  }
}

function problem(status: number, detail: string): ApiProblem {
  const { code, title } = statusProblem(status);
  return new ApiProblem(status, code, title, detail);
}

/**
 * Fastify's `clientErrorHandler`: answers on the raw socket, as problem+json, what Fastify would
 * answer as `{"error":…,"statusCode":…}`, then closes the connection (the parser cannot go on).
 */
export function answerClientError(error: ClientError, socket: Duplex): void {
  // A reset connection has nobody to answer; an ended one was answered already (the parser
  // reports the same broken request again when more of it arrives).
  if (error.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const problem = clientErrorProblem(error);
  const status = problem.getStatus();
  const body = JSON.stringify(problem.toDocument());
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ].join('\r\n');
  // Destroyed once written, not at once: destroying a socket drops what it has not sent yet.
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * Node's `checkExpectation` listener: a request whose `Expect` is not `100-continue` (the only
 * expectation HTTP/1.1 defines; Node meets it itself). Node alone would answer a bare 417; this
 * is the same 417, as problem+json. No route has seen the request, which is answered as Node
 * would have (the unread body is discarded, the connection kept).
 */
export function answerExpectation(request: IncomingMessage, response: ServerResponse): void {
  const { code, title } = statusProblem(417);
  const problem = new ApiProblem(
    417,
    code,
    title,
    'The server meets no expectation but 100-continue: send the request without this Expect header.',
  );
  const body = JSON.stringify({
    ...problem.toDocument(),
    instance: (request.url ?? '/').split('?')[0],
  });
  response.writeHead(417, {
    'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
