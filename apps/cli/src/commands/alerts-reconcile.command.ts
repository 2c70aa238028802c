import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AlertReconciler, AlertsModule } from '@app/alerts';
import { ConfigModule, type AccordConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { allMigrations } from '@app/migrations';
import { ensureRedisReachable, missingEventLog, openCliContext } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      applicationName: 'accord-cli',
      poolSize: 4,
    }),
    CqrsModule.forRoot(),
    AlertsModule,
  ],
})
class ReconcileModule {}

const USAGE = usageOf('alerts:reconcile');

/**
 * `alerts:reconcile`: re-creates every alert job Redis is missing and fires the overdue alerts
 * here and now (fenced, so a running worker doing the same is harmless). With
 * `--enqueue-overdue`, overdue alerts are left to the worker instead.
 */
export async function alertsReconcileCommand(
  config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  if (args.some((arg) => arg !== '--enqueue-overdue')) {
    out.error(USAGE);
    return 2;
  }
  // BullMQ's connections retry for ever: without Redis the command would hang, not fail.
  await ensureRedisReachable(config.REDIS_URL);
  const missing = await missingEventLog(config.DATABASE_URL);
  if (missing) {
    out.error(missing);
    return 1;
  }
  const app = await openCliContext(ReconcileModule);
  try {
    const report = await app
      .get(AlertReconciler)
      .reconcile({ fireInline: !args.includes('--enqueue-overdue') });
    out.info(
      `Reconciled the alert schedule in ${report.ms} ms: ${report.pending} pending alert(s), ` +
        `${report.overdue} overdue; ${report.recreated} job(s) re-created in Redis, ` +
        `${report.firedInline} overdue alert(s) fired here, ` +
        `${report.delivered} delivery time(s) recorded.`,
    );
    return 0;
  } finally {
    await app.close();
  }
}
