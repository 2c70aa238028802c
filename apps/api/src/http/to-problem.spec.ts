import {
  BadRequestException,
  InternalServerErrorException,
  MethodNotAllowedException,
  NotFoundException,
} from '@nestjs/common';
import { DomainError } from '@app/domain';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import { connect } from 'node:net';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { ApiProblem } from './api-problem';
import { toProblem } from './to-problem';

const plain = { ifMatch: false };
const document = (exception: unknown, server = {}) =>
  toProblem(exception, plain, server).toDocument();

describe('toProblem', () => {
  it('maps each kind of domain error to its status, with its code and details', () => {
    expect(
      document(
        new DomainError('negative-rate', 'rate.percent must not be negative', {
          field: 'rate.percent',
          value: -1,
        }),
      ),
    ).toEqual({
      type: 'https://accord.dev/problems/negative-rate',
      title: 'Negative rate',
      status: 422,
      detail: 'rate.percent must not be negative',
      code: 'negative-rate',
      field: 'rate.percent',
      value: -1,
      errors: [{ field: 'rate.percent', message: 'rate.percent must not be negative' }],
    });
    expect(document(new DomainError('measure-not-found', 'No measure m'))).toMatchObject({
      status: 404,
      code: 'measure-not-found',
    });
    expect(document(new DomainError('measure-revoked', 'Revoked'))).toMatchObject({
      status: 409,
      code: 'measure-revoked',
    });
  });

  it('never lets details overwrite the standard members', () => {
    const problem = document(new DomainError('measure-revoked', 'x', { status: 200, code: 'ok' }));
    expect(problem).toMatchObject({ status: 409, code: 'measure-revoked' });
  });

  it('maps a version conflict to 412 under If-Match and to 409 without', () => {
    const conflict = new WrongExpectedVersionError('measure-1', 2, 3);
    expect(toProblem(conflict, { ifMatch: true }).toDocument()).toMatchObject({
      status: 412,
      code: 'precondition-failed',
      currentVersion: 3,
    });
    expect(document(conflict)).toMatchObject({
      status: 409,
      code: 'wrong-expected-version',
      currentVersion: 3,
    });
  });

  it('maps a reused command id to 422 idempotency-key-reused', () => {
    expect(document(new CommandIdReusedError('k', 'a', 'b'))).toMatchObject({
      status: 422,
      code: 'idempotency-key-reused',
    });
  });

  it('derives a code from the status of any other HttpException', () => {
    expect(document(new NotFoundException('Cannot GET /x'))).toMatchObject({
      status: 404,
      code: 'not-found',
      detail: 'Cannot GET /x',
    });
    expect(document(new MethodNotAllowedException())).toMatchObject({
      status: 405,
      code: 'method-not-allowed',
    });
    expect(document(new BadRequestException(['a is wrong', 'b is wrong']))).toMatchObject({
      status: 400,
      code: 'bad-request',
      detail: 'a is wrong; b is wrong',
    });
    expect(document(new InternalServerErrorException('db password is hunter2'))).toEqual({
      type: 'https://accord.dev/problems/internal-error',
      title: 'Internal error',
      status: 500,
      code: 'internal-error',
    });
  });

  it('answers anything else with a 500 that tells nothing of the cause', () => {
    const problem = document(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    expect(problem).toEqual({
      type: 'https://accord.dev/problems/internal-error',
      title: 'Internal error',
      status: 500,
      detail: 'The server failed to answer.',
      code: 'internal-error',
    });
  });

  it('passes an ApiProblem through', () => {
    const problem = new ApiProblem(409, 'api-key-name-taken', 'Taken', 'x', { name: 'n' });
    expect(toProblem(problem, plain)).toBe(problem);
  });

  /** Node's error for a connection refused, with the members it sets. */
  const refusedAt = (host: string, port: number) =>
    Object.assign(new Error(`connect ECONNREFUSED ${host}:${port}`), {
      errno: -111,
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: host,
      port,
    });
  const notFound = (hostname: string) =>
    Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      errno: -3008,
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname,
    });
  const sqlState = (code: string, message: string) =>
    Object.assign(new DatabaseError(message, message.length, 'error'), { code });
  const server = { databaseHost: 'db.internal' };

  it('maps a database that cannot be reached to 503 database-unavailable, not a 500', () => {
    const shutDown = sqlState('57P01', 'terminating connection due to administrator command');
    for (const error of [
      // What node-postgres hands on: a connection refused, its host not found, a server
      // shutting down, the connection gone; and the same wrapped by TypeORM.
      refusedAt('127.0.0.1', 5432),
      notFound('db.internal'),
      shutDown,
      sqlState('08006', 'connection failure'),
      // Every connection slot taken; a statement cut by DATABASE_QUERY_TIMEOUT_MS.
      sqlState('53300', 'sorry, too many clients already'),
      sqlState('57014', 'canceling statement due to statement timeout'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new QueryFailedError('SELECT 1', [], shutDown),
      new QueryFailedError('SELECT 1', [], refusedAt('127.0.0.1', 5432)),
    ]) {
      const problem = toProblem(error, plain, server);
      expect(problem.toDocument()).toMatchObject({ status: 503, code: 'database-unavailable' });
      expect(problem.headers).toEqual({ 'retry-after': '5' });
    }
    // A query PostgreSQL refused is no outage.
    expect(document(sqlState('42601', 'syntax error'))).toMatchObject({ status: 500 });
    expect(document(new QueryFailedError('SELEC', [], sqlState('42601', 'syntax error')))).toEqual(
      expect.objectContaining({ status: 500, code: 'internal-error' }),
    );
  });

  it('maps a database host whose every address refuses to 503, as Node reports it', async () => {
    // A host with two addresses (localhost: ::1 and 127.0.0.1; a managed database's several
    // records), both refusing: a real connect, whose AggregateError has no syscall of its own.
    const refused = await new Promise<Error>((resolve) => {
      const socket = connect({
        host: 'db.internal',
        port: 1,
        autoSelectFamily: true,
        lookup: (_host, options, callback) =>
          options.all
            ? callback(null, [
                { address: '127.0.0.1', family: 4 },
                { address: '::1', family: 6 },
              ])
            : callback(null, '127.0.0.1', 4),
      });
      socket.on('error', resolve);
    });
    // (Node's own realm, not jest's: compared by shape.)
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', errors: expect.any(Array) });
    expect((refused as NodeJS.ErrnoException).syscall).toBeUndefined();
    expect(document(refused, server)).toMatchObject({ status: 503, code: 'database-unavailable' });
    expect(document(new QueryFailedError('SELECT 1', [], refused), server)).toMatchObject({
      status: 503,
      code: 'database-unavailable',
    });
  });

  it('does not blame the database for what another dependency meets', () => {
    for (const error of [
      // The webhook URL check's own error for a host that does not resolve.
      Object.assign(new Error('Could not resolve hooks.example.invalid (ENOTFOUND)'), {
        code: 'ENOTFOUND',
      }),
      // A failed lookup of any other host than the database's.
      notFound('hooks.example.com'),
      // A network code on an error that no socket raised (a client library's own).
      Object.assign(new Error('Redis connection lost'), { code: 'ECONNRESET' }),
      Object.assign(new Error('upstream down'), { code: 'ECONNREFUSED' }),
      // A SQLSTATE-like code on an error that is not PostgreSQL's.
      Object.assign(new Error('not a database'), { code: '57P01' }),
      // `driverError` means something only on TypeORM's error.
      Object.assign(new Error('Query failed'), { driverError: refusedAt('127.0.0.1', 5432) }),
      // undici's: the socket's error is the cause of its own.
      new TypeError('fetch failed', { cause: refusedAt('203.0.113.7', 443) }),
    ]) {
      expect(document(error, server)).toMatchObject({ status: 500, code: 'internal-error' });
    }
  });
});
