import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keeping the alert schedule and Redis tidy (issue 5):
 *
 * - `alert_schedule.job_removed_at`: when the relay removed the delayed job of an alert that was
 *   cancelled or moved after its job was added. The fence stays the safety net; this keeps Redis
 *   from holding (and the worker from running) jobs that can only be fenced.
 * - `alert_lead_times`: the lead times the schedule of existing suspensions has been topped up
 *   to. A lead time a subscription asks for later is added to every future end once, and
 *   recorded here.
 */
export class AlertScheduleUpkeep1764600001000 implements MigrationInterface {
  name = 'AlertScheduleUpkeep1764600001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE alert_schedule ADD COLUMN job_removed_at timestamptz;
      CREATE INDEX alert_schedule_stale_job_idx ON alert_schedule (cancelled_at, id)
        WHERE state = 'cancelled' AND enqueued_at IS NOT NULL AND job_removed_at IS NULL;

      CREATE TABLE alert_lead_times (
        lead_time text PRIMARY KEY,
        applied_at timestamptz NOT NULL
      );
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP TABLE alert_lead_times;
      DROP INDEX alert_schedule_stale_job_idx;
      ALTER TABLE alert_schedule DROP COLUMN job_removed_at;
    `);
  }
}
