import { createHash } from 'node:crypto';
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
  type AgreementAction,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { parse } from 'yaml';
import { checkReferences, type CodedKind } from './dataset-references';
import { validateDataset, type DatasetIssue } from './dataset-checks';
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
 * corrected file skips them.
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
        ? 'it was imported before with other content. A key names one fact for good: to ' +
          'correct it, add an operation with a new key (or a retraction)'
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

  async import(
    dataset: Dataset,
    { actor = 'import', onProgress }: ImportOptions = {},
  ): Promise<ImportReport> {
    await this.check(dataset);
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
        result = await this.execute(dataset.dataset, operation, actor);
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
   * What the file names and does not record itself must be in the database, and the codes it
   * records must not name something else there: checked before the first write, so that a file
   * refused for what it names leaves nothing behind. (Refs, local to the file, are checked when
   * it is parsed.)
   */
  async check(dataset: Dataset): Promise<void> {
    const derive = (name: string) => deterministicUuid(`${dataset.dataset}:${name}`);
    const { lookUp, recorded } = checkReferences(dataset, derive);
    const resolved = new Map<string, Promise<string | null>>();
    const resolve = (kind: CodedKind, name: string) => {
      const key = `${kind}:${name.trim().toUpperCase()}`;
      if (!resolved.has(key)) resolved.set(key, this.resolve(kind, name));
      return resolved.get(key)!;
    };
    const problems: string[] = [];
    const at = (index: number, path: (string | number)[]) =>
      `operations[${index}] (${dataset.operations[index].key}).${path.join('.')}`;
    for (const { kind, name, index, path } of lookUp) {
      if (!(await resolve(kind, name)))
        problems.push(
          `${at(index, path)}: no ${kind} is named ${name}, in the database or earlier in the file`,
        );
    }
    for (const { kind, code, id, index, path } of recorded) {
      const holder = await resolve(kind, code);
      if (holder && holder !== id)
        problems.push(`${at(index, path)}: the code ${code} already names another ${kind}`);
    }
    if (problems.length) throw new DatasetFormatError(problems);
  }

  private async resolve(kind: CodedKind, name: string): Promise<string | null> {
    if (!isUuid(name)) return this.codes.resolve(kind, name);
    const streamId = (kind === 'measure' ? measureStreamId : agreementStreamId)(name.toLowerCase());
    return (await this.store.streamVersion(streamId)) > 0 ? name.toLowerCase() : null;
  }

  private execute(dataset: string, op: DatasetOperation, actor: string): Promise<WriteResult> {
    const id = (name: string) => deterministicUuid(`${dataset}:${name}`);
    const options = {
      actor,
      commandId: `import:${dataset}:${op.key}`,
      // Re-importing the key with other content is refused, not reported as "already present".
      requestFingerprint: fingerprintOf(op),
    };
    const measure = (action: MeasureAction, target: string | null) =>
      this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(target, action, options),
      );
    const agreement = (action: AgreementAction, target: string | null) =>
      this.commandBus.execute<ExecuteAgreementAction, WriteResult>(
        new ExecuteAgreementAction(target, action, options),
      );
    switch (op.action) {
      case 'record-measure':
        return measure(
          { action: op.action, measureId: id(`measure:${op.body.code ?? op.key}`), body: op.body },
          null,
        );
      case 'amend-measure':
      case 'revoke-measure':
        return measure({ action: op.action, body: op.body }, op.measure);
      case 'schedule-suspension': {
        const { startsWhen } = op.body;
        const body = startsWhen
          ? { ...op.body, startsWhen: { ...startsWhen, suspension: id(startsWhen.suspension) } }
          : op.body;
        return measure({ action: op.action, suspensionId: id(op.ref), body }, op.measure);
      }
      case 'extend-suspension':
        return measure(
          { action: op.action, suspensionId: id(op.suspension), body: op.body },
          op.measure,
        );
      case 'lift-suspension':
        return measure(
          { action: op.action, suspensionId: id(op.suspension), body: op.body },
          op.measure,
        );
      case 'grant-exclusion':
        return measure({ action: op.action, exclusionId: id(op.ref), body: op.body }, op.measure);
      case 'extend-exclusion':
        return measure(
          { action: op.action, exclusionId: id(op.exclusion), body: op.body },
          op.measure,
        );
      case 'record-claim':
        return op.measure
          ? measure({ action: op.action, claimId: id(op.key), body: op.body }, op.measure)
          : agreement(
              { action: op.action, claimId: id(op.key), body: op.body },
              op.agreement ?? '',
            );
      case 'retract-event':
        return op.measure
          ? measure({ action: op.action, body: op.body }, op.measure)
          : agreement({ action: op.action, body: op.body }, op.agreement ?? '');
      case 'conclude-agreement':
        return agreement(
          {
            action: op.action,
            agreementId: id(`agreement:${op.body.code ?? op.key}`),
            body: op.body,
          },
          null,
        );
      case 'record-commitment':
        return agreement(
          { action: op.action, commitmentId: id(op.ref), body: op.body },
          op.agreement,
        );
      case 'change-commitment-status':
        return agreement(
          { action: op.action, commitmentId: id(op.commitment), body: op.body },
          op.agreement,
        );
      case 'reaffirm-agreement':
        return agreement({ action: op.action, body: op.body }, op.agreement);
      default: {
        const unknown: never = op;
        throw new Error(`Unknown operation ${JSON.stringify(unknown)}`);
      }
    }
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
 * The ids `execute` derives for what an operation names (refs, and the codes of measures and
 * agreements the file records), each with that name: an error about the id can then say it
 * the way the file does.
 */
function derivedNames(dataset: string, operation: DatasetOperation): Map<string, string> {
  const names = new Map<string, string>();
  const fields = operation as unknown as Record<string, unknown>;
  const startsWhen = (fields.body as { startsWhen?: { suspension?: unknown } } | undefined)
    ?.startsWhen;
  const refs = [fields.ref, fields.suspension, fields.exclusion, fields.commitment];
  for (const ref of [...refs, startsWhen?.suspension])
    if (typeof ref === 'string') names.set(deterministicUuid(`${dataset}:${ref}`), ref);
  for (const kind of ['measure', 'agreement'] as const) {
    const code = fields[kind];
    if (typeof code === 'string') names.set(deterministicUuid(`${dataset}:${kind}:${code}`), code);
  }
  return names;
}

/** The operation's content, whatever the order of its keys in the file. */
function fingerprintOf(operation: DatasetOperation): string {
  return createHash('sha256').update(canonicalJson(operation)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
