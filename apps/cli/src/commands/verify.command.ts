import type { AccordConfig } from '@app/config';
import { createDataSource, poolOf } from '@app/database';
import { verifyHashChains } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { readModelAheadOfLog } from '@app/projections';
import { missingEventLog } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

/**
 * `verify`: recomputes every stream's hash chain; exit code 1 names the first broken link. Then
 * looks for events that are gone without breaking a chain (a stream's newest events, or the
 * log's): recorded by a command, read by a consumer, or folded into a read model.
 */
export async function verifyCommand(
  config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  if (args.length) {
    out.error(usageOf('verify'));
    return 2;
  }
  const missing = await missingEventLog(config.DATABASE_URL);
  if (missing) {
    out.error(missing);
    return 1;
  }
  const dataSource = createDataSource({
    url: config.DATABASE_URL,
    migrations: allMigrations,
    applicationName: 'accord-cli',
    poolSize: 2,
  });
  await dataSource.initialize();
  try {
    const report = await verifyHashChains(poolOf(dataSource), (checked) =>
      out.progress(`verified ${checked} events`),
    );
    out.progressDone();
    if (report.firstBroken) {
      const link = report.firstBroken;
      out.error(
        `Broken hash chain: stream ${link.streamId} at version ${link.version}` +
          ` (global position ${link.position})` +
          `: ${link.reason}`,
      );
      return 1;
    }
    const missing = report.missingCommandEvents;
    if (missing) {
      out.error(
        `Events missing: command ${missing.commandId} recorded positions ${missing.firstPosition}` +
          `–${missing.lastPosition} in stream ${missing.streamId}, and they are not there ` +
          '(deleted, or moved to another stream or position).',
      );
      return 1;
    }
    const consumer = report.consumerAheadOfLog;
    if (consumer) {
      out.error(
        `Events missing: ${consumer.consumer} has read up to global position ${consumer.checkpoint},` +
          ` but the log ends at ${consumer.head} (its newest events deleted).`,
      );
      return 1;
    }
    const stream = await readModelAheadOfLog(poolOf(dataSource));
    if (stream) {
      out.error(
        `Events missing: the read models were built from version ${stream.readModelVersion}` +
          ` of stream ${stream.streamId}, and the log holds it up to version ${stream.logVersion}` +
          ' (its newest events deleted).',
      );
      return 1;
    }
    out.info(
      `All hash chains hold: ${report.checkedEvents} events in ${report.checkedStreams} streams.`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}
