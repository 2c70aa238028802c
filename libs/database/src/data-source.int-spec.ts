import { OperatorError } from '@app/config';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { runMigrations } from './data-source';

/**
 * An older Accord started on a database a newer one migrated (a rolling upgrade, or a rollback
 * of the code alone) must not start: it would fill read models without the newer columns.
 */
describe('runMigrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('run_migrations');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('refuses a database migrated by a newer version, naming what it does not know', async () => {
    await db.pool.query(
      `INSERT INTO migrations (timestamp, name) VALUES (1999999999999, 'FromANewerAccord1999999999999')`,
    );
    const refused = runMigrations(db.dataSource);
    await expect(refused).rejects.toBeInstanceOf(OperatorError);
    await expect(refused).rejects.toThrow(
      /was migrated by a newer version of Accord \(migrations this version does not know: FromANewerAccord1999999999999\)/,
    );

    await db.pool.query(`DELETE FROM migrations WHERE name = 'FromANewerAccord1999999999999'`);
    await expect(runMigrations(db.dataSource)).resolves.toEqual([]);
  });
});
