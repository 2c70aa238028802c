import {
  BadRequestException,
  InternalServerErrorException,
  MethodNotAllowedException,
  NotFoundException,
} from '@nestjs/common';
import { DomainError } from '@app/domain';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import { ApiProblem } from './api-problem';
import { toProblem } from './to-problem';

const plain = { ifMatch: false };
const document = (exception: unknown, request = plain) =>
  toProblem(exception, request).toDocument();

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
    expect(document(conflict, { ifMatch: true })).toMatchObject({
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

  it('maps a database that cannot be reached to 503 database-unavailable, not a 500', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const shutDown = Object.assign(
      new Error('terminating connection due to administrator command'),
      {
        code: '57P01',
      },
    );
    // TypeORM wraps the driver's error.
    const wrapped = Object.assign(new Error('Query failed'), { driverError: shutDown });
    for (const error of [
      refused,
      shutDown,
      wrapped,
      new Error('Connection terminated unexpectedly'),
    ]) {
      const problem = toProblem(error, plain);
      expect(problem.toDocument()).toMatchObject({ status: 503, code: 'database-unavailable' });
      expect(problem.headers).toEqual({ 'retry-after': '5' });
    }
    // A query PostgreSQL refused is no outage.
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(document(syntax)).toMatchObject({ status: 500, code: 'internal-error' });
  });
});
