import { toSources } from './source';

describe('toSources', () => {
  it('keeps the known fields, including confidence and unconfirmed, and drops the rest', () => {
    expect(
      toSources([
        {
          issuer: 'State Council Tariff Commission',
          title: 'Countermeasure announcement',
          official: true,
          publishedAt: '2025-02-04',
          language: 'zh-Hans',
          confidence: 'H',
          unconfirmed: true,
          extra: 'dropped',
        },
      ]),
    ).toEqual([
      {
        issuer: 'State Council Tariff Commission',
        title: 'Countermeasure announcement',
        official: true,
        publishedAt: '2025-02-04',
        language: 'zh-Hans',
        confidence: 'H',
        unconfirmed: true,
      },
    ]);
  });

  it.each([
    ['source-required', undefined],
    ['source-required', []],
    ['invalid-source', [null]],
    ['invalid-source', [{ issuer: '', title: 't', official: true }]],
    ['invalid-source', [{ issuer: 'i', title: 't', official: 'yes' }]],
    ['invalid-source', [{ issuer: 'i', title: 't', official: true, publishedAt: 'Nov 2025' }]],
    ['invalid-source', [{ issuer: 'i', title: 't', official: true, language: 'English' }]],
    ['invalid-source', [{ issuer: 'i', title: 't', official: true, documentNumber: '' }]],
    ['invalid-source', [{ issuer: 'i', title: 't', official: true, unconfirmed: 'no' }]],
  ])('rejects %s for %j', (code, sources) => {
    expect(() => toSources(sources)).toThrow(expect.objectContaining({ code }));
  });
});
