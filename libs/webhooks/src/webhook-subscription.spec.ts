import {
  createWebhookSubscriptionSchema,
  updateWebhookSubscriptionSchema,
} from './webhook-subscription';

const base = { url: 'https://hooks.example.com/accord', eventTypes: ['suspension.*'] };
const issuesOf = (result: { success: boolean; error?: { issues: unknown[] } }) =>
  (result.error?.issues ?? []).map((issue) => {
    const { path, message } = issue as { path: PropertyKey[]; message: string };
    return { field: path.join('.'), message };
  });

describe('subscription input', () => {
  it('keeps each party of filters.parties once, in upper case', () => {
    const parsed = createWebhookSubscriptionSchema.parse({
      ...base,
      filters: { parties: ['CN', 'cn', 'us'] },
    });
    expect(parsed.filters.parties).toEqual(['CN', 'US']);
  });

  describe('filters.measureKinds', () => {
    it('takes the kinds the write API records, in any case, stored lower-case and once', () => {
      const parsed = createWebhookSubscriptionSchema.parse({
        ...base,
        filters: { measureKinds: ['Tariff', 'EXPORT-CONTROL', 'tariff'] },
      });
      expect(parsed.filters.measureKinds).toEqual(['tariff', 'export-control']);
    });

    it('refuses a kind that does not exist, naming the field and the kinds there are', () => {
      for (const schema of [createWebhookSubscriptionSchema, updateWebhookSubscriptionSchema]) {
        const result = schema.safeParse({
          ...base,
          filters: { measureKinds: ['Tariff', 'tarif'] },
        });
        expect(result.success).toBe(false);
        expect(issuesOf(result)).toEqual([
          {
            field: 'filters.measureKinds.1',
            message: expect.stringContaining('must be one of tariff, export-control'),
          },
        ]);
      }
    });
  });

  describe('leadTimes', () => {
    it('keeps each lead time once, by meaning, in its canonical form', () => {
      const create = createWebhookSubscriptionSchema.parse({
        ...base,
        leadTimes: ['PT1M', 'PT60S', 'P7D', 'P1W', 'P0D'],
      });
      expect(create.leadTimes).toEqual(['PT1M', 'P7D', 'PT0S']);
      const update = updateWebhookSubscriptionSchema.parse({ leadTimes: ['P1W', 'P7D', 'PT90M'] });
      expect(update.leadTimes).toEqual(['P7D', 'PT1H30M']);
    });

    it('keeps lead times that differ across a DST change or a month apart', () => {
      const parsed = createWebhookSubscriptionSchema.parse({
        ...base,
        leadTimes: ['P1D', 'PT24H', 'P1M', 'P30D'],
      });
      expect(parsed.leadTimes).toEqual(['P1D', 'PT24H', 'P1M', 'P30D']);
    });
  });
});
