import { LEAD_TIME_RULE, MEASURE_KINDS } from '@app/domain';
import { WEBHOOK_EVENT_TYPES } from '@app/webhooks';
import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * The request body of a subscription's creation or change, from the zod schema that validates
 * it, with the item rules that schema enforces by refinement (which JSON Schema cannot see)
 * written out: event types, lead times, parties and measure kinds. A client validating by the
 * document then refuses what the server would, instead of learning it from a 400.
 */
export function webhookSubscriptionBody(schema: z.ZodType): SchemaObject {
  // JSON Schema 2020-12, as the OpenAPI 3.1 document takes it (without a `$schema` of its own).
  const { $schema: _schema, ...body } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
  }) as SchemaObject & { $schema?: string };
  const properties = body.properties as Record<string, SchemaObject>;
  const filters = properties.filters.properties as Record<string, SchemaObject>;
  properties.eventTypes.items = EVENT_TYPE_PATTERN;
  properties.leadTimes.items = LEAD_TIME;
  filters.parties.items = PARTY;
  filters.measureKinds.items = { ...(filters.measureKinds.items as SchemaObject), ...MEASURE_KIND };
  return body;
}

// Groups of dotted types only, as the server takes them: `ping` is a type of its own.
const EVENT_TYPE_GROUPS = [
  ...new Set(
    WEBHOOK_EVENT_TYPES.filter((type) => type.includes('.')).map(
      (type) => `${type.split('.')[0]}.*`,
    ),
  ),
];

const EVENT_TYPE_PATTERN: SchemaObject = {
  type: 'string',
  enum: ['*', ...EVENT_TYPE_GROUPS, ...WEBHOOK_EVENT_TYPES],
  description: 'An event type, a group of them (`suspension.*`), or `*` for every type.',
};

/**
 * The ISO 8601 durations the domain takes: integer components, seconds alone fractional, to the
 * millisecond (further decimals only zeros). The cap is in the description (see
 * isWithinMaxLeadTime): a pattern cannot say it.
 */
const LEAD_TIME: SchemaObject = {
  type: 'string',
  pattern:
    '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d{1,3}0*)?S)?)?$',
  description:
    `How long before a suspension ends to be alerted (\`PT0S\`: the end itself), e.g. \`P30D\`: ` +
    `an ISO 8601 duration ${LEAD_TIME_RULE} (\`P3650D\`, \`P9Y11M15D\`, \`PT87600H\` are the ` +
    'longest of their kind).',
};

const PARTY: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z]{2}$',
  description: 'An assigned ISO 3166-1 alpha-2 code (any case, kept in upper case), e.g. `CN`.',
};

const MEASURE_KIND: SchemaObject = {
  type: 'string',
  enum: [...MEASURE_KINDS],
  description: 'A measure kind. Other cases of these (`Tariff`) are taken and kept in lower case.',
};
