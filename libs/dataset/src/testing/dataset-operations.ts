/** Operations of a dataset file as a test writes them: plain JSON, checked by the importer. */

export const sources = [{ issuer: 'QA', title: 'A test source', official: false }];

/** A 10% US tariff on China, keyed `record-<code>`; `body` overrides or adds fields. */
export const recordMeasure = (code: string, body: Record<string, unknown> = {}) => ({
  key: `record-${code.toLowerCase()}`,
  action: 'record-measure',
  body: {
    code,
    title: code,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rate: { type: 'ad-valorem', percent: 10 },
    timeZone: 'America/New_York',
    effectiveAt: '2025-04-09T04:01:00Z',
    sources,
    ...body,
  },
});

/** A 90-day suspension from 2025-05-01 of `measure`, created as `ref`. */
export const schedule = (key: string, measure: string, ref: string, body: object = {}) => ({
  key,
  action: 'schedule-suspension',
  measure,
  ref,
  body: { startsAt: '2025-05-01T00:00:00Z', duration: 'P90D', sources, ...body },
});

/** The lifting of `measure`'s suspension `suspension`, on 2025-06-01 unless `body` says. */
export const lift = (key: string, measure: string, suspension: string, body: object = {}) => ({
  key,
  action: 'lift-suspension',
  measure,
  suspension,
  body: { effectiveAt: '2025-06-01T00:00:00Z', sources, ...body },
});
