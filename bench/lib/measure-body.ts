/**
 * A realistic `POST /api/v1/measures` body (about 1.6 KB of JSON, like the bundled dataset's
 * records): a tariff with its rate, scope, dates, time zone and two sources. `[<id>]` is
 * replaced by a fresh id in every request (autocannon's idReplacement), so that every request
 * records a new measure with its own code.
 */
export const RECORD_MEASURE_BODY = JSON.stringify({
  code: 'BENCH-[<id>]',
  title: 'Additional ad valorem duty on products of China (bench [<id>])',
  kind: 'tariff',
  imposingParty: 'US',
  targetParties: ['CN', 'HK'],
  legalBasis: 'International Emergency Economic Powers Act (50 U.S.C. 1701 et seq.)',
  instrument: 'Executive Order 14257, as amended by Executive Orders 14259 and 14266',
  summary:
    'Reciprocal tariff on all imports of products of China, in addition to duties already in ' +
    'force, except goods listed in Annex II and goods already subject to Section 232 duties. ' +
    'Goods loaded before the effective date and entered before the cut-off are exempt.',
  rate: { type: 'ad-valorem', percent: 34 },
  scope: {
    description: 'All products of China and Hong Kong, except Annex II goods',
    hsCodes: ['7206.10.00', '7207.11.00', '7208.10.15', '7601.10.30', '8471.30.01', '8517.13.00'],
  },
  timeZone: 'America/New_York',
  announcedAt: '2025-04-02T20:00:00Z',
  effectiveAt: '2025-04-09T04:01:00Z',
  sources: [
    {
      issuer: 'The White House',
      title: 'Regulating Imports with a Reciprocal Tariff to Rectify Trade Practices',
      url: 'https://www.whitehouse.gov/presidential-actions/2025/04/regulating-imports-with-a-reciprocal-tariff/',
      documentNumber: 'Executive Order 14257',
      publishedAt: '2025-04-02',
      official: true,
      language: 'en',
      confidence: 'H',
    },
    {
      issuer: 'Federal Register',
      title: 'Executive Order 14257 of April 2, 2025, 90 FR 15041',
      url: 'https://www.federalregister.gov/documents/2025/04/07/2025-06063/regulating-imports',
      documentNumber: '2025-06063',
      publishedAt: '2025-04-07',
      official: true,
      language: 'en',
      confidence: 'H',
    },
  ],
});
