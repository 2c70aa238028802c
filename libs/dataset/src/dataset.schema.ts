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

/** The file around its operations, which are checked one by one (see `validateDataset`). */
export const datasetEnvelopeSchema = z.strictObject({
  dataset: key,
  title: z.string().optional(),
  operations: z.array(z.unknown()).min(1),
});

/** A file of the right shape; `datasetSchema` (dataset-checks.ts) adds the checks between operations. */
export const datasetShapeSchema = datasetEnvelopeSchema.extend({
  operations: z.array(datasetOperationSchema).min(1),
});

export type Dataset = z.infer<typeof datasetShapeSchema>;
export type DatasetOperation = z.infer<typeof datasetOperationSchema>;
