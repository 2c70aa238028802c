import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The alert schedule (issue 5, SPEC §3): the truth of what fires when. BullMQ jobs only carry it
 * out, so everything needed to re-create them after a Redis loss is here.
 *
 * - `alert_schedule`: one row per (suspension, end version, lead time). `pending` rows are what
 *   the relay and the reconciler turn into delayed jobs; `fired_at` is set in the transaction that
 *   dispatches the webhooks, so a row fires at most once; `delivered_at` is for the delivery side.
 * - `alert_suspension_ends`: the end each suspension's current alerts count down to, and the
 *   stream version that set it (the fence a stale job is checked against).
 * - `alert_measures`: the measure folded by the alert projection itself, so that it depends on no
 *   other read model's progress.
 */
export class CreateAlertSchedule1764300005000 implements MigrationInterface {
  name = 'CreateAlertSchedule1764300005000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE alert_measures (
        measure_id uuid PRIMARY KEY,
        state jsonb NOT NULL,
        version bigint NOT NULL,
        last_position bigint NOT NULL
      );

      CREATE TABLE alert_suspension_ends (
        measure_id uuid NOT NULL,
        suspension_id text NOT NULL,
        end_at timestamptz NOT NULL,
        end_version bigint NOT NULL,
        live boolean NOT NULL,
        PRIMARY KEY (measure_id, suspension_id)
      );

      CREATE TABLE alert_schedule (
        id uuid PRIMARY KEY,
        measure_id uuid NOT NULL,
        suspension_id text NOT NULL,
        lead_time text NOT NULL,
        fire_at timestamptz NOT NULL,
        end_at timestamptz NOT NULL,
        end_version bigint NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled', 'skipped')),
        -- What firing did (lapse recorded, already lapsed, …) or why the alert was cancelled.
        outcome text,
        enqueued_at timestamptz,
        fired_at timestamptz,
        cancelled_at timestamptz,
        delivered_at timestamptz,
        created_position bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX alert_schedule_pending_idx ON alert_schedule (fire_at, id)
        WHERE state = 'pending';
      CREATE INDEX alert_schedule_to_enqueue_idx ON alert_schedule (fire_at, id)
        WHERE state = 'pending' AND enqueued_at IS NULL;
      CREATE INDEX alert_schedule_undelivered_idx ON alert_schedule (fired_at)
        WHERE state = 'fired' AND delivered_at IS NULL;
      CREATE INDEX alert_schedule_suspension_idx
        ON alert_schedule (measure_id, suspension_id, end_version);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE alert_schedule, alert_suspension_ends, alert_measures');
  }
}
