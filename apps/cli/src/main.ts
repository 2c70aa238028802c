import 'reflect-metadata';
import { loadConfig, OperatorError, type AccordConfig } from '@app/config';
import { describeCliError } from './cli-context';
import { consoleOutput, type CliOutput } from './cli-output';
import { alertsReconcileCommand } from './commands/alerts-reconcile.command';
import { apiKeysCreateCommand } from './commands/api-keys-create.command';
import { importCommand, seedCommand } from './commands/import.command';
import { projectionsRebuildCommand } from './commands/projections-rebuild.command';
import { verifyCommand } from './commands/verify.command';
import { commandLine, type CommandName } from './commands/usage';

type Command = (config: AccordConfig, out: CliOutput, args: string[]) => Promise<number>;

const COMMANDS: Record<CommandName, { summary: string; run: Command }> = {
  verify: { summary: 'verify every stream’s hash chain', run: verifyCommand },
  import: {
    summary: 'import a dataset file (idempotent)',
    run: importCommand,
  },
  seed: { summary: 'import the bundled 2025 US–China dataset', run: seedCommand },
  'api-keys:create': {
    summary: 'create an API key and print it once',
    run: apiKeysCreateCommand,
  },
  'alerts:reconcile': {
    summary: 're-create missing alert jobs from PostgreSQL and fire overdue alerts',
    run: alertsReconcileCommand,
  },
  'projections:rebuild': {
    summary: 'rebuild one projection [name] or all from position 0, then swap (no downtime)',
    run: projectionsRebuildCommand,
  },
};

/** The usage: a result when asked for (stdout), part of the error otherwise (stderr). */
function usage(print: (line: string) => void): void {
  print('Usage: npm run cli -- <command> [options]\n\nCommands:');
  for (const [name, { summary }] of Object.entries(COMMANDS)) {
    print(`  ${commandLine(name as CommandName)}`);
    print(`      ${summary}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const out = consoleOutput();
  const [name, ...args] = argv;
  if (name === '--help' || name === 'help') {
    usage((line) => out.info(line));
    return 0;
  }
  if (!name) {
    usage((line) => out.error(line));
    return 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  if (!command) {
    out.error(`Unknown command: ${name}`);
    usage((line) => out.error(line));
    return 2;
  }
  return command.run(loadConfig(), out, args);
}

// A reader that stops early (`| head`) closes the pipe. The rest of the results has no reader,
// which is no failure of the command: its exit code still says how the command went.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof OperatorError ? error.message : describeCliError(error)}\n`,
    );
    process.exit(1);
  },
);
