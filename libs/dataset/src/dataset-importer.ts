import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isUuid } from '@app/domain';
import { CommandIdReusedError, EventStore } from '@app/event-store';
import {
  agreementStreamId,
  ExecuteAgreementAction,
  ExecuteMeasureAction,
  measureStreamId,
  StreamCodeIndex,
  type WriteResult,
} from '@app/trade';
import { parse } from 'yaml';
import { actionOf, commandIdOf, derivedNames, fingerprintOf } from './dataset-actions';
import { validateDataset, type DatasetIssue } from './dataset-checks';
import {
  dryRunImport,
  nameKey,
  REIMPORTED_WITH_OTHER_CONTENT,
  type DryRunProblem,
} from './dataset-dry-run';
import { checkReferences, type CodedKind } from './dataset-references';
import type { Dataset, DatasetOperation } from './dataset.schema';
import { deterministicUuid } from './deterministic-id';

export interface ImportReport {
  dataset: string;
  total: number;
  /** Operations that appended events now. */
  added: number;
  /** Operations found already done (an earlier import of the same keys). */
  unchanged: number;
  /** Events appended by this run. */
  events: number;
}

export interface ImportOptions {
  /** Stored as every event's actor. */
  actor?: string;
  onProgress?: (done: number, total: number) => void;
  /** The decision clock, for the dry run and every write alike; the import's start by default. */
  now?: Date;
}

export class DatasetFormatError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `The dataset is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Nothing was imported.',
    );
  }
}

/**
 * The largest dataset file imported, in bytes. A YAML parse holds about 70 times the file in
 * memory (a 47 MB file took 3.4 GB), so a larger file would exhaust the heap before any message
 * could be given. The bundled dataset is about 0.14 MB; a larger collection is split into files.
 */
export const MAX_DATASET_BYTES = 10 * 1024 * 1024;

export class DatasetTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(
      `The dataset file is ${megabytes(bytes)}; files over ${megabytes(MAX_DATASET_BYTES)} are ` +
        'refused: reading one takes about 70 times its size in memory. Split it into smaller ' +
        'files, each with the operations that use its refs, and import them in order. Nothing ' +
        'was imported.',
    );
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Wraps a failing operation so the report can say which one, and what became of the ones
 * before it: they were recorded and stay (the log is append-only), and an import of the
 * corrected file skips them. The dry run (`check`) refuses a file before its first write for
 * anything the domain would refuse; this is left for what changed in the database between the
 * check and the write (another writer, the worker starting a conditional suspension) and for
 * failures that are not refusals.
 */
export class DatasetOperationError extends Error {
  constructor(
    readonly index: number,
    readonly key: string,
    override readonly cause: unknown,
    /** The ids the importer derived for this operation, by the name the file gives them. */
    names: ReadonlyMap<string, string> = new Map(),
  ) {
    let why =
      cause instanceof CommandIdReusedError
        ? REIMPORTED_WITH_OTHER_CONTENT
        : cause instanceof Error
          ? cause.message
          : String(cause);
    // The domain speaks of ids; the file of refs and codes.
    for (const [id, name] of names) why = why.replaceAll(id, name);
    super(
      `Operation ${index + 1} (${key}) failed: ${why}.\n` +
        (index === 0
          ? 'Nothing was imported.'
          : `The ${index} operation(s) before it are recorded; correct this one and import ` +
            'the file again: those are skipped.'),
    );
  }
}

/**
 * Imports a dataset file through the same command handlers as the HTTP API (so the same
 * validation applies). Idempotent: each operation's command id is derived from the dataset and
 * its key, and ids from its codes and refs, so a second import appends nothing.
 */
@Injectable()
export class DatasetImporter {
  constructor(
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  /** Checks the whole file, without the database; throws every problem found at once. */
  parse(text: string): Dataset {
    return parseDataset(text);
  }

  async import(
    dataset: Dataset,
    { actor = 'import', onProgress, now = new Date() }: ImportOptions = {},
  ): Promise<ImportReport> {
    await this.check(dataset, { actor, now });
    const report: ImportReport = {
      dataset: dataset.dataset,
      total: dataset.operations.length,
      added: 0,
      unchanged: 0,
      events: 0,
    };
    for (const [index, operation] of dataset.operations.entries()) {
      let result: WriteResult;
      try {
        result = await this.execute(dataset.dataset, operation, actor, now);
      } catch (error) {
        throw new DatasetOperationError(
          index,
          operation.key,
          error,
          derivedNames(dataset.dataset, operation),
        );
      }
      if (result.replayed) report.unchanged += 1;
      else {
        report.added += 1;
        report.events += result.eventIds.length;
      }
      onProgress?.(index + 1, report.total);
    }
    return report;
  }

  /**
   * Everything the import would refuse, found before the first write and reported at once. What
   * the file names and does not record itself must be in the database, and the codes it records
   * must not name something else there. Then a dry run decides every operation in memory, on
   * the stored state of what it touches and on what the operations before it decided: what only
   * an earlier operation of the file can tell is found too. (Refs, local to the file, and what
   * needs no state are checked when it is parsed.)
   */
  async check(
    dataset: Dataset,
    { actor = 'import', now = new Date() }: Pick<ImportOptions, 'actor' | 'now'> = {},
  ): Promise<void> {
    const derive = (name: string) => deterministicUuid(`${dataset.dataset}:${name}`);
    const { lookUp, recorded } = checkReferences(dataset, derive);
    const resolved = new Map<string, Promise<string | null>>();
    const resolve = (kind: CodedKind, name: string) => {
      const key = nameKey(kind, name);
      if (!resolved.has(key)) resolved.set(key, this.resolve(kind, name));
      return resolved.get(key)!;
    };
    const problems: DryRunProblem[] = [];
    // Reported here: the dry run leaves out the operations that use these names.
    const refused: string[] = [];
    for (const { kind, name, index, path } of lookUp) {
      if (await resolve(kind, name)) continue;
      problems.push({
        index,
        path,
        message: `no ${kind} is named ${name}, in the database or earlier in the file`,
      });
      refused.push(nameKey(kind, name));
    }
    for (const { kind, code, id, index, path } of recorded) {
      const holder = await resolve(kind, code);
      if (!holder || holder === id) continue;
      problems.push({ index, path, message: `the code ${code} already names another ${kind}` });
      refused.push(nameKey(kind, code));
    }
    problems.push(
      ...(await dryRunImport(
        dataset,
        {
          resolve,
          readStream: (streamId) => this.store.readStream(streamId),
          findCommand: (commandId) => this.store.findCommand(commandId),
        },
        { actor, now, refused },
      )),
    );
    if (problems.length === 0) return;
    const at = ({ index, path }: DryRunProblem) =>
      [`operations[${index}] (${dataset.operations[index].key})`, ...path.map(String)].join('.');
    throw new DatasetFormatError(
      problems
        .map((problem, order) => ({ problem, order }))
        .sort((a, b) => a.problem.index - b.problem.index || a.order - b.order)
        .map(({ problem }) => `${at(problem)}: ${problem.message}`),
    );
  }

  private async resolve(kind: CodedKind, name: string): Promise<string | null> {
    if (!isUuid(name)) return this.codes.resolve(kind, name);
    const streamId = (kind === 'measure' ? measureStreamId : agreementStreamId)(name.toLowerCase());
    return (await this.store.streamVersion(streamId)) > 0 ? name.toLowerCase() : null;
  }

  private execute(
    dataset: string,
    op: DatasetOperation,
    actor: string,
    now: Date,
  ): Promise<WriteResult> {
    const options = {
      actor,
      now,
      commandId: commandIdOf(dataset, op),
      // Re-importing the key with other content is refused, not reported as "already present".
      requestFingerprint: fingerprintOf(op),
    };
    const planned = actionOf(dataset, op);
    return planned.aggregate === 'measure'
      ? this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
          new ExecuteMeasureAction(planned.target, planned.action, options),
        )
      : this.commandBus.execute<ExecuteAgreementAction, WriteResult>(
          new ExecuteAgreementAction(planned.target, planned.action, options),
        );
  }
}

/** `operations[12] (us-reciprocal-cn-record).body.rate` rather than a bare index path. */
function describePath(raw: unknown, issue: DatasetIssue): string {
  const [first, index, ...rest] = issue.path;
  if (first === 'operations' && typeof index === 'number') {
    const operations = (raw as { operations?: { key?: unknown }[] }).operations;
    const opKey = operations?.[index]?.key;
    const label = `operations[${index}]${typeof opKey === 'string' ? ` (${opKey})` : ''}`;
    return [label, ...rest.map(String)].join('.');
  }
  return issue.path.map(String).join('.') || '(file)';
}

/**
 * A dataset file's text checked whole, without the database (so a refused file leaves nothing
 * behind, not even a database created for it); throws every problem found at once.
 */
export function parseDataset(text: string): Dataset {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DATASET_BYTES) throw new DatasetTooLargeError(bytes);
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new DatasetFormatError([`not valid YAML: ${(error as Error).message}`]);
  }
  const checked = validateDataset(raw);
  if (checked.issues) {
    throw new DatasetFormatError(
      checked.issues.map((issue) => `${describePath(raw, issue)}: ${issue.message}`),
    );
  }
  return checked.dataset;
}
