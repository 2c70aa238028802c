import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { AlertLeadTimeSpellings1764800001000 } from './alert-lead-time-spellings.migration';

/** A schedule written before lead times had one spelling keeps one alert per fire time. */
describe('Migration AlertLeadTimeSpellings1764800001000', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('alert_lead_time_spellings');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function migrateUp(): Promise<void> {
    const runner = db.dataSource.createQueryRunner();
    try {
      await new AlertLeadTimeSpellings1764800001000().up(runner);
    } finally {
      await runner.release();
    }
  }

  it('renames old spellings and cancels a pending alert held under both', async () => {
    const measure = randomUUID();
    const alert = (leadTime: string, endVersion: number, state = 'pending') => ({
      id: randomUUID(),
      leadTime,
      endVersion,
      state,
    });
    const alerts = [
      alert('PT1M', 3), // the new spelling, for end version 3
      alert('PT60S', 3), // the same fire time, written by an older subscription: a duplicate
      alert('PT60S', 2, 'fired'), // history, renamed only
      alert('P1W', 3), // alone under its old spelling: renamed, kept pending
    ];
    for (const a of alerts) {
      await db.pool.query(
        `INSERT INTO alert_schedule (id, measure_id, suspension_id, lead_time, fire_at, end_at,
                                     end_version, state, created_position)
         VALUES ($1, $2, 'S1', $3, '2027-01-01T00:00:00Z', '2027-01-08T00:00:00Z', $4, $5, 1)`,
        [a.id, measure, a.leadTime, a.endVersion, a.state],
      );
    }
    await db.pool.query(
      `INSERT INTO alert_lead_times (lead_time, applied_at)
       VALUES ('PT1M', now()), ('PT60S', now()), ('P1W', '2026-01-01T00:00:00Z')`,
    );

    await migrateUp();

    const { rows } = await db.pool.query<{ id: string; lead_time: string; state: string }>(
      'SELECT id, lead_time, state FROM alert_schedule WHERE measure_id = $1',
      [measure],
    );
    const byId = new Map(rows.map((row) => [row.id, [row.lead_time, row.state]]));
    expect(alerts.map((a) => byId.get(a.id))).toEqual([
      ['PT1M', 'pending'],
      ['PT1M', 'cancelled'],
      ['PT1M', 'fired'],
      ['P7D', 'pending'],
    ]);
    const applied = await db.pool.query<{ lead_time: string; applied_at: Date }>(
      'SELECT lead_time, applied_at FROM alert_lead_times ORDER BY lead_time',
    );
    expect(applied.rows.map((row) => row.lead_time)).toEqual(['P7D', 'PT1M']);
    expect(applied.rows[0].applied_at.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
