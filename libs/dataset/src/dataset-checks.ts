import { checkReferences } from './dataset-references';
import { checkOperationValues } from './dataset-values';
import {
  datasetEnvelopeSchema,
  datasetOperationSchema,
  datasetShapeSchema,
  type Dataset,
  type DatasetOperation,
} from './dataset.schema';
import { deterministicUuid } from './deterministic-id';

/** Something wrong in a dataset file, at `path` from its top (`operations`, index, …). */
export interface DatasetIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Everything that can be checked in a file without the database, every problem listed at once:
 * the file's shape, then each operation's (an operation of the wrong shape does not hide the
 * problems of the others), duplicate keys, the refs and codes the operations name, and the
 * values the domain would refuse. Nothing is written when this finds anything.
 */
export function validateDataset(
  raw: unknown,
): { dataset: Dataset; issues?: never } | { dataset?: never; issues: DatasetIssue[] } {
  const envelope = datasetEnvelopeSchema.safeParse(raw);
  const issues: DatasetIssue[] = envelope.success ? [] : [...envelope.error.issues];
  const rawOperations = (raw as { operations?: unknown } | null)?.operations;
  if (!Array.isArray(rawOperations)) return { issues };

  const valid: { index: number; operation: DatasetOperation }[] = [];
  rawOperations.forEach((candidate, index) => {
    const parsed = datasetOperationSchema.safeParse(candidate);
    if (parsed.success) valid.push({ index, operation: parsed.data });
    else
      for (const issue of parsed.error.issues)
        issues.push({ path: ['operations', index, ...issue.path], message: issue.message });
  });
  const name = (raw as { dataset?: unknown }).dataset;
  issues.push(...operationIssues(typeof name === 'string' ? name : '', valid, rawOperations));
  if (issues.length || !envelope.success) return { issues: inFileOrder(issues) };
  return {
    dataset: { ...envelope.data, operations: valid.map(({ operation }) => operation) },
  };
}

/**
 * The checks between operations, and of each one's values, over the operations whose shape
 * passed (`valid`, with their index in the file). `rawOperations` is every operation as
 * written: a key is a duplicate, and a ref or code is defined, even by an operation of the
 * wrong shape, so that fixing its shape does not bring up a problem that was not reported.
 */
export function operationIssues(
  dataset: string,
  valid: { index: number; operation: DatasetOperation }[],
  rawOperations: readonly unknown[],
): DatasetIssue[] {
  const issues: DatasetIssue[] = [];
  const at = (index: number, path: PropertyKey[]) => ['operations', index, ...path];
  const seen = new Set<string>();
  rawOperations.forEach((candidate, index) => {
    const key = (candidate as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') return;
    if (seen.has(key)) issues.push({ path: at(index, ['key']), message: `duplicate key ${key}` });
    seen.add(key);
  });

  const derive = (name: string) => deterministicUuid(`${dataset}:${name}`);
  for (const { index, operation } of valid) {
    if (
      (operation.action === 'record-claim' || operation.action === 'retract-event') &&
      !operation.measure === !operation.agreement
    )
      issues.push({ path: at(index, []), message: 'name exactly one of measure and agreement' });
    for (const problem of checkOperationValues(operation, derive))
      issues.push({ path: at(index, problem.path), message: problem.message });
  }

  const definedByInvalid = namesDefinedByInvalid(valid, rawOperations);
  const { problems } = checkReferences(
    { operations: valid.map(({ operation }) => operation) },
    derive,
  );
  for (const problem of problems) {
    if (problem.undefinedName !== undefined && definedByInvalid.has(problem.undefinedName))
      continue;
    issues.push({ path: at(valid[problem.index].index, problem.path), message: problem.message });
  }
  return issues;
}

/** The refs and codes that operations of the wrong shape would create or record. */
function namesDefinedByInvalid(
  valid: { index: number }[],
  rawOperations: readonly unknown[],
): Set<string> {
  const validIndexes = new Set(valid.map(({ index }) => index));
  const names = new Set<string>();
  rawOperations.forEach((candidate, index) => {
    if (validIndexes.has(index)) return;
    const { ref, body } = (candidate ?? {}) as { ref?: unknown; body?: { code?: unknown } };
    if (typeof ref === 'string') names.add(ref);
    if (typeof body?.code === 'string') names.add(body.code.trim().toUpperCase());
  });
  return names;
}

/** File-level issues first, then by operation, each operation's in the order found. */
function inFileOrder(issues: DatasetIssue[]): DatasetIssue[] {
  const rank = (issue: DatasetIssue) =>
    issue.path[0] === 'operations' && typeof issue.path[1] === 'number' ? issue.path[1] : -1;
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => rank(a.issue) - rank(b.issue) || a.order - b.order)
    .map(({ issue }) => issue);
}

/** A whole file as one schema, for callers that have it parsed already (the checks' tests). */
export const datasetSchema = datasetShapeSchema.superRefine((file, context) => {
  const valid = file.operations.map((operation, index) => ({ index, operation }));
  for (const issue of operationIssues(file.dataset, valid, file.operations))
    context.addIssue({
      code: 'custom',
      path: issue.path.filter((step) => typeof step !== 'symbol'),
      message: issue.message,
    });
});
