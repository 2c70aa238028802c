import { Inject, Injectable, Logger } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { DataSource, type EntityManager } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { AT_END, alertsForLeadTimes, type PlannedAlert } from './alert-plan';
import { alertLeadTimes, distinctLeadTimes } from './lead-times';

/**
 * The advisory lock between the schedule projection (shared, around reading the lead times and
 * writing a batch) and the top-up (exclusive): a batch that read the lead times before a new one
 * was subscribed has committed its ends before the top-up looks at them.
 */
export const LEAD_TIMES_LOCK = 'accord:alert-lead-times';

const PAGE = 2000;

interface EndRow {
  measure_id: string;
  suspension_id: string;
  end_at: Date;
  end_version: string;
  time_zone: string;
  last_position: string;
  missing: string[];
}

/**
 * Gives the suspensions already scheduled the lead times asked for since (issue 5, scope 1): when
 * a subscription is created or changed with a lead time the schedule does not have yet, every
 * live end still ahead gets its alert at that lead time — pending if still ahead, `skipped` if
 * already past (never fired late), as the projection would have planned it. Run by the worker's
 * relay loop; it costs three small statements when nothing changed. `alert_lead_times` records
 * what has been applied, so that each new lead time costs one pass over the live ends (a lead
 * time asked for by subscriptions that existed before this table counts as new once).
 */
@Injectable()
export class AlertLeadTimeTopUp {
  private readonly logger = new Logger('AlertLeadTimeTopUp');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
  ) {}

  /** Returns how many alert rows were added. */
  async run(): Promise<number> {
    // The first time, `ALERT_LEAD_TIMES` and the end count as applied: every plan the projection
    // made had them. Lead times subscriptions ask for are topped up from then on.
    await this.dataSource.query(
      `INSERT INTO alert_lead_times (lead_time, applied_at)
       SELECT unnest($1::text[]), now() WHERE NOT EXISTS (SELECT 1 FROM alert_lead_times)
       ON CONFLICT (lead_time) DO NOTHING`,
      [distinctLeadTimes([...this.config.ALERT_LEAD_TIMES, AT_END])],
    );
    const { missing, gone } = await this.difference(this.dataSource.manager);
    if (missing.length === 0 && gone.length === 0) return 0;
    const added = await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        LEAD_TIMES_LOCK,
      ]);
      // Again under the lock: what another worker applied meanwhile is not applied twice.
      const now = this.clock.now();
      const current = await this.difference(manager);
      const rows = current.missing.length ? await this.topUp(manager, current.missing, now) : 0;
      await manager.query('DELETE FROM alert_lead_times WHERE lead_time = ANY($1::text[])', [
        current.gone,
      ]);
      await manager.query(
        `INSERT INTO alert_lead_times (lead_time, applied_at)
         SELECT unnest($1::text[]), $2 ON CONFLICT (lead_time) DO NOTHING`,
        [current.missing, now],
      );
      return rows;
    });
    if (added) this.logger.log(`Lead times ${missing.join(', ')}: ${added} alert(s) added`);
    return added;
  }

  private async difference(manager: EntityManager) {
    const wanted = await alertLeadTimes(manager, this.config.ALERT_LEAD_TIMES);
    const rows: { lead_time: string }[] = await manager.query(
      'SELECT lead_time FROM alert_lead_times',
    );
    const applied = new Set(rows.map((row) => row.lead_time));
    return {
      missing: wanted.filter((leadTime) => !applied.has(leadTime)),
      gone: [...applied].filter((leadTime) => !wanted.includes(leadTime)),
    };
  }

  /** Every live end still ahead, a page at a time, with the lead times it has no row for. */
  private async topUp(manager: EntityManager, leadTimes: string[], now: Date): Promise<number> {
    let after: EndRow | undefined;
    let added = 0;
    for (;;) {
      const ends: EndRow[] = await manager.query(
        `SELECT e.measure_id, e.suspension_id, e.end_at, e.end_version, m.last_position,
                m.state->'measure'->>'timeZone' AS time_zone,
                array(SELECT l FROM unnest($3::text[]) AS l
                       WHERE NOT EXISTS (
                         SELECT 1 FROM alert_schedule a
                          WHERE a.measure_id = e.measure_id AND a.suspension_id = e.suspension_id
                            AND a.end_version = e.end_version AND a.lead_time = l)) AS missing
           FROM alert_suspension_ends e JOIN alert_measures m ON m.measure_id = e.measure_id
          WHERE e.live AND e.end_at > $1 AND m.state->'measure'->>'timeZone' IS NOT NULL
            AND ($4::uuid IS NULL OR (e.measure_id, e.suspension_id) > ($4, $5))
          ORDER BY e.measure_id, e.suspension_id
          LIMIT $2`,
        [now, PAGE, leadTimes, after?.measure_id ?? null, after?.suspension_id ?? null],
      );
      const alerts: Array<PlannedAlert & { position: string }> = ends.flatMap((end) =>
        alertsForLeadTimes(
          end.measure_id,
          end.time_zone,
          {
            suspensionId: end.suspension_id,
            endAt: end.end_at.toISOString(),
            endVersion: Number(end.end_version),
          },
          end.missing,
          now,
        ).map((alert) => ({ ...alert, position: end.last_position })),
      );
      if (alerts.length) added += await this.insert(manager, alerts);
      if (ends.length < PAGE) return added;
      after = ends[ends.length - 1];
    }
  }

  private async insert(
    manager: EntityManager,
    alerts: Array<PlannedAlert & { position: string }>,
  ): Promise<number> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO alert_schedule (id, measure_id, suspension_id, lead_time, fire_at, end_at,
                                   end_version, state, outcome, created_position)
       SELECT t.id, t.measure_id, t.suspension_id, t.lead_time, t.fire_at, t.end_at,
              t.end_version, t.state,
              CASE WHEN t.state = 'skipped' THEN 'due before a subscription asked for it' END,
              t.position
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::timestamptz[], $7::bigint[], $8::text[], $9::bigint[])
           AS t (id, measure_id, suspension_id, lead_time, fire_at, end_at, end_version,
                 state, position)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        alerts.map((a) => a.id),
        alerts.map((a) => a.measureId),
        alerts.map((a) => a.suspensionId),
        alerts.map((a) => a.leadTime),
        alerts.map((a) => a.fireAt),
        alerts.map((a) => a.endAt),
        alerts.map((a) => a.endVersion),
        alerts.map((a) => a.state),
        alerts.map((a) => a.position),
      ],
    );
    return rows.length;
  }
}
