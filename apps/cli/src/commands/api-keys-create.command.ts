import { parseArgs } from 'node:util';
import { ApiKeyNameTakenError, ApiKeysService, createApiKeyInputSchema } from '@app/api-keys';
import type { AccordConfig } from '@app/config';
import { createDataSource, poolOf, runMigrations } from '@app/database';
import { allMigrations } from '@app/migrations';
import { missingEventLog } from '../cli-context';
import type { CliOutput } from '../cli-output';
import { usageOf } from './usage';

const USAGE = usageOf('api-keys:create');

/** `api-keys:create`: records a key and prints it, the only time it is shown. */
export async function apiKeysCreateCommand(
  config: AccordConfig,
  out: CliOutput,
  args: string[],
): Promise<number> {
  let values: { role?: string; name?: string };
  try {
    const parsed = parseArgs({
      args,
      options: { role: { type: 'string' }, name: { type: 'string' } },
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
    // parseArgs keeps the last of a repeated option: `--name a --name b` would be "b", silently.
    const given = parsed.tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : []));
    const twice = given.find((name, index) => given.indexOf(name) !== index);
    if (twice) throw new Error(`Option '--${twice}' is given more than once`);
    values = parsed.values;
  } catch (error) {
    out.error(error instanceof Error ? error.message : String(error));
    out.error(USAGE);
    return 2;
  }
  const input = createApiKeyInputSchema.safeParse(
    { name: values.name, role: values.role },
    { error: (issue) => (issue.input === undefined ? 'is required' : undefined) },
  );
  if (!input.success) {
    for (const issue of input.error.issues)
      out.error(`--${issue.path.join('.')}: ${issue.message}`);
    out.error(USAGE);
    return 2;
  }

  // A key recorded in a database no Accord uses (a mistyped DATABASE_URL) would be refused by
  // the api on the right one: refuse here instead, as the maintenance commands do.
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
    await runMigrations(dataSource);
    const created = await new ApiKeysService(poolOf(dataSource)).create(input.data);
    out.info(`id:   ${created.id}`);
    out.info(`name: ${created.name}`);
    out.info(`role: ${created.role}`);
    out.info(`key:  ${created.key}`);
    out.error('Store the key now: it is not shown again.');
    return 0;
  } catch (error) {
    if (error instanceof ApiKeyNameTakenError) {
      out.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    await dataSource.destroy();
  }
}
