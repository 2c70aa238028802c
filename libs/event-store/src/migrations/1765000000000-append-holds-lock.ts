import type { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_LOCK_CLASS } from '../appends-in-flight';

const SIGNATURE = `'accord_append(text, bigint, text, jsonb)'::regprocedure`;

const BEFORE = {
  comment: '-- The transaction id is taken before any position is drawn: readAll depends on it.',
  statement: 'PERFORM pg_current_xact_id();',
};
// The transaction id stays: a reader of the version before this one, still running during an
// upgrade, waits on it.
const AFTER = {
  comment:
    '-- Held until the transaction ends and taken before any position is drawn, as the transaction id is: a reader at a gap waits for the appends holding it (appends-in-flight.ts).',
  statement: `PERFORM pg_advisory_xact_lock_shared(${APPEND_LOCK_CLASS}, pg_backend_pid()); PERFORM pg_current_xact_id();`,
};

/**
 * A reader that met a gap in the log (a number drawn, not committed) waited until every
 * transaction older than the gap had ended, since it could not tell which one held the number:
 * an idle session that had written anything, in any database of the server, stalled every
 * projection and made a rebuild wait for ever. `accord_append` now announces itself with an
 * advisory lock (see appends-in-flight.ts), so readers wait for appends only.
 *
 * The function is patched in place rather than restated: two lines of its body change, and the
 * patch refuses to run on a body it does not recognise.
 */
export class AppendHoldsLock1765000000000 implements MigrationInterface {
  name = 'AppendHoldsLock1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Waits for every transaction that has touched the log (an append running the old body
    // reads the stream's head before it draws a number), and holds new ones back until this
    // transaction commits: after it, every append in flight holds the lock readers look for.
    // Not for long: a transaction left open with the log in hand fails the upgrade instead of
    // stalling every write behind it; start again once it has ended.
    await queryRunner.query(`SET LOCAL lock_timeout = '10s'`);
    await queryRunner.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    await patchAppend(queryRunner, BEFORE, AFTER);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await patchAppend(queryRunner, AFTER, BEFORE);
  }
}

async function patchAppend(
  queryRunner: QueryRunner,
  from: typeof BEFORE,
  to: typeof BEFORE,
): Promise<void> {
  const rows = (await queryRunner.query(
    `SELECT pg_get_functiondef(${SIGNATURE}) AS definition`,
  )) as { definition: string }[];
  const { definition } = rows[0];
  let patched = definition;
  for (const key of ['comment', 'statement'] as const) {
    if (patched.split(from[key]).length !== 2) {
      throw new Error(`accord_append is not the version this migration expects (${from[key]})`);
    }
    patched = patched.replace(from[key], to[key]);
  }
  await queryRunner.query(patched);
}
