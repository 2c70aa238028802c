import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConfigModule, type AccordConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { allMigrations } from '@app/migrations';
import {
  ProjectionRebuilder,
  ProjectionRebuildModule,
  RebuildableProjections,
  RebuildAbortedError,
  RebuildInProgressError,
  type RebuildProgress,
} from '@app/projections';
import { missingEventLog, openCliContext } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

/** What the command boots; `npm run bench:rebuild` boots the same. */
@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      applicationName: 'accord-cli',
      // The advisory lock has a connection of its own; read-ahead, one writer per projection.
      poolSize: 8,
    }),
    CqrsModule.forRoot(),
    ProjectionRebuildModule,
  ],
})
export class RebuildCliModule {}

const USAGE = usageOf('projections:rebuild');

/**
 * `projections:rebuild [name]`: rebuilds one projection (`projection:measure-status`, or just
 * `measure-status`) or all of them from position zero, beside the live tables, then swaps them
 * in; the worker keeps serving and projecting meanwhile.
 */
export async function projectionsRebuildCommand(
  config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  if (args.length > 1 || args[0]?.startsWith('-')) {
    out.error(USAGE);
    return 2;
  }
  const wanted = args[0];
  const missing = await missingEventLog(config.DATABASE_URL);
  if (missing) {
    out.error(missing);
    return 1;
  }
  const app = await openCliContext(RebuildCliModule);
  try {
    const available = app.get(RebuildableProjections);
    const all = available.all();
    const chosen = wanted
      ? all.filter((p) => p.name === wanted || p.name === `projection:${wanted}`)
      : all;
    if (!chosen.length) {
      out.error(
        wanted
          ? `No rebuildable projection is named ${wanted}. Rebuildable: ${all.map((p) => p.name).join(', ') || 'none'}.`
          : 'There is no rebuildable projection.',
      );
      return 2;
    }
    if (!wanted) {
      for (const name of available.undeclared()) {
        out.error(`Skipped ${name}: it declares no tables, so it cannot be rebuilt beside itself.`);
      }
    }
    const started = Date.now();
    // Ctrl-C stops the copy between two batches and drops it (the live tables stay as they
    // were); a second Ctrl-C leaves at once, the copies to the next rebuild of them.
    const stop = new AbortController();
    const onInterrupt = () => {
      if (stop.signal.aborted) process.exit(130);
      out.progressDone();
      out.error('Interrupted: stopping and dropping the copies (Ctrl-C again to leave now)…');
      stop.abort();
    };
    process.on('SIGINT', onInterrupt);
    const results = await app
      .get(ProjectionRebuilder)
      .rebuild(chosen, {
        onProgress: (progress) => out.progress(progressLine(progress)),
        signal: stop.signal,
      })
      .finally(() => process.off('SIGINT', onInterrupt));
    out.progressDone();
    const seconds = (Date.now() - started) / 1000;
    for (const result of results) {
      const rows = Object.entries(result.rows)
        .map(([table, count]) => `${count.toLocaleString('en-US')} rows in ${table}`)
        .join(', ');
      out.info(
        `Rebuilt ${result.name} up to position ${result.position.toLocaleString('en-US')}: ${rows}.`,
      );
    }
    const position = Math.max(...results.map((result) => result.position));
    out.info(
      `${results.length} projection${results.length === 1 ? '' : 's'} rebuilt from ` +
        `${position.toLocaleString('en-US')} events in ${seconds.toFixed(1)} s ` +
        `(${Math.round(position / Math.max(seconds, 0.001)).toLocaleString('en-US')} events/s).`,
    );
    return 0;
  } catch (error) {
    out.progressDone();
    if (error instanceof RebuildInProgressError) {
      out.error(error.message);
      return 1;
    }
    if (error instanceof RebuildAbortedError) {
      out.error(error.message);
      return 130;
    }
    throw error;
  } finally {
    await app.close();
  }
}

const PHASES: Record<RebuildProgress['phase'], string> = {
  waiting: 'waiting    ',
  copying: 'copying    ',
  indexing: 'indexing   ',
  'catching-up': 'catching up',
  swapping: 'swapping   ',
};

function progressLine(progress: RebuildProgress, width = 30): string {
  if (progress.phase === 'waiting')
    return (
      `${PHASES.waiting} for appends in flight when the rebuild began to end ` +
      '(a transaction that appended and stays open holds it back: see pg_stat_activity)'
    );
  const done = progress.total ? Math.min(1, progress.done / progress.total) : 1;
  const filled = Math.round(done * width);
  const perSecond = progress.events / Math.max(progress.elapsedMs / 1000, 0.001);
  const unit =
    progress.phase === 'indexing' || progress.phase === 'swapping' ? 'projections' : 'events';
  return (
    `${PHASES[progress.phase]} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
    `${Math.floor(done * 100)}% ${progress.done.toLocaleString('en-US')}/` +
    `${progress.total.toLocaleString('en-US')} ${unit}, ` +
    `${Math.round(perSecond).toLocaleString('en-US')} events/s`
  );
}
