import { normalizeLeadTime } from '@app/webhooks';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lead times are kept in one spelling per fire time since subscriptions normalise them (`PT60S`
 * is `PT1M`, `P1W` is `P7D`). The schedule compares them as text, so alerts and applied lead
 * times stored under an older spelling are renamed to it; a pending alert that duplicates one
 * already held under the new spelling for the same end is cancelled (it would fire twice).
 */
export class AlertLeadTimeSpellings1764800001000 implements MigrationInterface {
  name = 'AlertLeadTimeSpellings1764800001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const stored = (await queryRunner.query(
      'SELECT lead_time FROM alert_schedule UNION SELECT lead_time FROM alert_lead_times',
    )) as { lead_time: string }[];
    for (const { lead_time: old } of stored) {
      const canonical = normalizeLeadTime(old);
      if (canonical === old) continue;
      await queryRunner.query(
        `UPDATE alert_schedule a
            SET state = 'cancelled', outcome = 'cancelled: duplicate lead time',
                cancelled_at = now()
          WHERE a.lead_time = $1 AND a.state = 'pending'
            AND EXISTS (SELECT 1 FROM alert_schedule b
                         WHERE b.measure_id = a.measure_id AND b.suspension_id = a.suspension_id
                           AND b.end_version = a.end_version AND b.lead_time = $2)`,
        [old, canonical],
      );
      await queryRunner.query('UPDATE alert_schedule SET lead_time = $2 WHERE lead_time = $1', [
        old,
        canonical,
      ]);
      await queryRunner.query(
        `INSERT INTO alert_lead_times (lead_time, applied_at)
         SELECT $2, applied_at FROM alert_lead_times WHERE lead_time = $1
         ON CONFLICT (lead_time) DO NOTHING`,
        [old, canonical],
      );
      await queryRunner.query('DELETE FROM alert_lead_times WHERE lead_time = $1', [old]);
    }
  }

  async down(): Promise<void> {
    // The old spellings are not kept: every spelling means the same fire time.
  }
}
