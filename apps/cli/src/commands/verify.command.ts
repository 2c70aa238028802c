import type { AccordConfig } from '@app/config';
import { createDataSource, poolOf } from '@app/database';
import { verifyHashChains } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { missingEventLog } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

/** `verify`: recomputes every stream's hash chain; exit code 1 names the first broken link. */
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
    out.info(
      `All hash chains hold: ${report.checkedEvents} events in ${report.checkedStreams} streams.`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}
