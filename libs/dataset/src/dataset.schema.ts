import {
  amendMeasureBody,
  changeCommitmentStatusBody,
  concludeAgreementBody,
  effectiveBody,
  extendExclusionBody,
  extendSuspensionBody,
  grantExclusionBody,
  reaffirmAgreementBody,
  recordClaimBody,
  recordCommitmentBody,
  recordMeasureBody,
  retractionBody,
  scheduleSuspensionBody,
} from '@app/trade';
import { z } from 'zod';
import { checkReferences } from './dataset-references';
import { deterministicUuid } from './deterministic-id';

/**
 * A dataset file (data/README.md): operations run in order through the write side's command
 * handlers. `key` is the operation's idempotency id; `ref` names a suspension, exclusion or
 * commitment for later operations. Bodies are the HTTP API's request bodies.
 */
const key = z.string().regex(/^[a-z0-9][a-z0-9-]{0,150}$/, 'must be kebab-case');
const ref = z.string().min(1).max(150);
const code = z.string().min(1).max(80);

const op = <A extends string, S extends z.ZodType, E extends z.ZodRawShape>(
  action: A,
  body: S,
  extra: E,
) => z.strictObject({ key, action: z.literal(action), body, ...extra });

export const datasetOperationSchema = z.discriminatedUnion('action', [
  op('record-measure', recordMeasureBody, {}),
  op('amend-measure', amendMeasureBody, { measure: code }),
  op('schedule-suspension', scheduleSuspensionBody, { measure: code, ref }),
  op('extend-suspension', extendSuspensionBody, { measure: code, suspension: ref }),
  op('lift-suspension', effectiveBody, { measure: code, suspension: ref }),
  op('revoke-measure', effectiveBody, { measure: code }),
  op('grant-exclusion', grantExclusionBody, { measure: code, ref }),
  op('extend-exclusion', extendExclusionBody, { measure: code, exclusion: ref }),
  op('record-claim', recordClaimBody, {
    measure: code.optional(),
    agreement: code.optional(),
  }),
  op('retract-event', retractionBody, { measure: code.optional(), agreement: code.optional() }),
  op('conclude-agreement', concludeAgreementBody, {}),
  op('record-commitment', recordCommitmentBody, { agreement: code, ref }),
  op('change-commitment-status', changeCommitmentStatusBody, { agreement: code, commitment: ref }),
  op('reaffirm-agreement', reaffirmAgreementBody, { agreement: code }),
]);

export const datasetSchema = z
  .strictObject({
    dataset: key,
    title: z.string().optional(),
    operations: z.array(datasetOperationSchema).min(1),
  })
  .superRefine((file, context) => {
    const seen = new Set<string>();
    file.operations.forEach((operation, index) => {
      if (seen.has(operation.key)) {
        context.addIssue({
          code: 'custom',
          path: ['operations', index, 'key'],
          message: `duplicate key ${operation.key}`,
        });
      }
      seen.add(operation.key);
      if (
        (operation.action === 'record-claim' || operation.action === 'retract-event') &&
        !operation.measure === !operation.agreement
      ) {
        context.addIssue({
          code: 'custom',
          path: ['operations', index],
          message: 'name exactly one of measure and agreement',
        });
      }
    });
    const { problems } = checkReferences(file, (name) =>
      deterministicUuid(`${file.dataset}:${name}`),
    );
    for (const problem of problems) {
      context.addIssue({
        code: 'custom',
        path: ['operations', problem.index, ...problem.path],
        message: problem.message,
      });
    }
  });

export type Dataset = z.infer<typeof datasetSchema>;
export type DatasetOperation = z.infer<typeof datasetOperationSchema>;
