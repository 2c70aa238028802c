/** What each command takes after its name: one spelling for `help` and for its own errors. */
export const COMMAND_ARGUMENTS = {
  verify: '',
  import: '<dataset.yaml>',
  seed: '',
  'api-keys:create': '--role <viewer|editor|admin> --name <name>',
  'alerts:reconcile': '[--enqueue-overdue]',
  'projections:rebuild': '[name]',
} as const;

export type CommandName = keyof typeof COMMAND_ARGUMENTS;

/** The command as written with what it takes, e.g. `import <dataset.yaml>`. */
export function commandLine(name: CommandName): string {
  return [name, COMMAND_ARGUMENTS[name]].filter(Boolean).join(' ');
}

/** The usage line a command prints when it is called wrongly. */
export function usageOf(name: CommandName): string {
  return `Usage: npm run cli -- ${commandLine(name)}`;
}
