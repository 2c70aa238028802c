import { Duplex } from 'node:stream';
import { answerClientError, clientErrorProblem, type ClientError } from './client-errors';

const parserError = (code: string): ClientError =>
  Object.assign(new Error(`Parse Error: ${code}`), { code });

/** A socket that keeps what is written to it. */
class RecordingSocket extends Duplex {
  written = '';
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.written += chunk.toString('utf8');
    done();
  }
}

describe('clientErrorProblem', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'request-header-fields-too-large'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'payload-too-large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request-timeout'],
    ['HPE_INVALID_URL', 400, 'bad-request'],
    ['HPE_INVALID_HEADER_TOKEN', 400, 'bad-request'],
  ])('%s → %i %s', (code, status, problemCode) => {
    const document = clientErrorProblem(parserError(code)).toDocument();
    expect(document).toMatchObject({ status, code: problemCode, detail: expect.any(String) });
    expect(document.detail).not.toContain('Parse Error');
  });
});

describe('answerClientError', () => {
  it('writes one problem+json response, then closes the socket', async () => {
    const socket = new RecordingSocket();
    const closed = new Promise((resolve) => socket.on('close', resolve));
    answerClientError(parserError('HPE_INVALID_URL'), socket);
    // The parser reports the same request again when more of it arrives: answered once.
    answerClientError(parserError('HPE_INVALID_URL'), socket);
    await closed;

    const [head, body] = socket.written.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
    ]);
    expect(JSON.parse(body)).toMatchObject({
      type: 'https://accord.dev/problems/bad-request',
      status: 400,
      code: 'bad-request',
    });
  });

  it('answers nothing on a reset connection', () => {
    const socket = new RecordingSocket();
    answerClientError(parserError('ECONNRESET'), socket);
    expect(socket.written).toBe('');
  });
});
