import { deciderSpec } from '../testing/decider-spec';
import { implemented, sources } from '../testing/fixtures';
import { measureDecider } from './measure.decide';

const spec = deciderSpec(measureDecider);
const granted = {
  type: 'ExclusionGranted' as const,
  data: {
    exclusionId: 'x-301',
    description: '178 Section 301 product and equipment exclusions',
    hsCodes: ['9903.88.69', '9903.88.70'],
    endsAt: '2025-11-29T05:01:00.000Z',
    effectiveAt: '2025-08-29T04:01:00.000Z',
    sources,
  },
};

describe('GrantExclusion', () => {
  it('grants an exclusion until an end', () => {
    spec
      .given([implemented()])
      .when({
        type: 'GrantExclusion',
        data: {
          description: '178 Section 301 product and equipment exclusions',
          hsCodes: ['9903.88.69', '9903.88.70'],
          effectiveAt: '2025-08-29T00:01:00-04:00',
          endsAt: '2025-11-29T00:01:00-05:00',
          sources,
        },
      })
      .then([{ type: 'ExclusionGranted', data: { ...granted.data, exclusionId: 'id-1' } }]);
  });

  it('rejects an end before the grant', () => {
    spec
      .given([implemented()])
      .when({
        type: 'GrantExclusion',
        data: {
          description: 'x',
          effectiveAt: '2025-08-29T00:00:00Z',
          endsAt: '2025-08-01T00:00:00Z',
          sources,
        },
      })
      .thenThrows('exclusion-ends-before-start');
  });

  it('rejects a missing description', () => {
    spec
      .given([implemented()])
      .when({
        type: 'GrantExclusion',
        data: { description: '', effectiveAt: '2025-08-29T00:00:00Z', sources },
      })
      .thenThrows('text-required');
  });

  it('rejects a malformed HS code', () => {
    spec
      .given([implemented()])
      .when({
        type: 'GrantExclusion',
        data: { description: 'x', hsCodes: ['ABC'], effectiveAt: '2025-08-29T00:00:00Z', sources },
      })
      .thenThrows('invalid-hs-code');
  });

  it('rejects an exclusion id already in use', () => {
    spec
      .given([implemented(), granted])
      .when({
        type: 'GrantExclusion',
        data: {
          exclusionId: 'x-301',
          description: 'x',
          effectiveAt: '2025-08-29T00:00:00Z',
          sources,
        },
      })
      .thenThrows('exclusion-already-exists');
  });

  it('rejects a revoked measure', () => {
    spec
      .given([
        implemented(),
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-06-01T00:00:00.000Z', sources } },
      ])
      .when({
        type: 'GrantExclusion',
        data: { description: 'x', effectiveAt: '2025-08-29T00:00:00Z', sources },
      })
      .thenThrows('measure-revoked');
  });

  it('rejects an unknown measure', () => {
    spec
      .given([])
      .when({
        type: 'GrantExclusion',
        data: { description: 'x', effectiveAt: '2025-08-29T00:00:00Z', sources },
      })
      .thenThrows('measure-not-found');
  });
});

describe('ExtendExclusion', () => {
  it('moves the end later', () => {
    spec
      .given([implemented(), granted])
      .when({
        type: 'ExtendExclusion',
        data: {
          exclusionId: 'x-301',
          endsAt: '2026-11-10T05:01:00Z',
          effectiveAt: '2025-11-26T00:00:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'ExclusionExtended',
          data: {
            exclusionId: 'x-301',
            endsAt: '2026-11-10T05:01:00.000Z',
            previousEndsAt: '2025-11-29T05:01:00.000Z',
            effectiveAt: '2025-11-26T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('rejects an end that is not later', () => {
    spec
      .given([implemented(), granted])
      .when({
        type: 'ExtendExclusion',
        data: { exclusionId: 'x-301', endsAt: '2025-11-29T05:01:00Z', sources },
      })
      .thenThrows('extension-not-later');
  });

  it('rejects an expired exclusion', () => {
    spec
      .given([
        implemented(),
        granted,
        {
          type: 'ExclusionExpired',
          data: { exclusionId: 'x-301', effectiveAt: '2025-11-29T05:01:00.000Z', sources },
        },
      ])
      .when({
        type: 'ExtendExclusion',
        data: { exclusionId: 'x-301', endsAt: '2026-11-10T05:01:00Z', sources },
      })
      .thenThrows('exclusion-not-active');
  });

  it('rejects an unknown exclusion', () => {
    spec
      .given([implemented()])
      .when({
        type: 'ExtendExclusion',
        data: { exclusionId: 'nope', endsAt: '2026-11-10T05:01:00Z', sources },
      })
      .thenThrows('exclusion-not-found');
  });
});

describe('ExpireExclusion', () => {
  it('records the expiry at the end', () => {
    spec
      .given([implemented(), granted])
      .when(
        { type: 'ExpireExclusion', data: { exclusionId: 'x-301' } },
        { now: '2025-11-30T00:00:00Z' },
      )
      .then([
        {
          type: 'ExclusionExpired',
          data: { exclusionId: 'x-301', effectiveAt: '2025-11-29T05:01:00.000Z', sources },
        },
      ]);
  });

  it('rejects an expiry before the end', () => {
    spec
      .given([implemented(), granted])
      .when(
        { type: 'ExpireExclusion', data: { exclusionId: 'x-301' } },
        { now: '2025-11-01T00:00:00Z' },
      )
      .thenThrows('exclusion-not-ended');
  });

  it('rejects an exclusion already expired', () => {
    spec
      .given([
        implemented(),
        granted,
        {
          type: 'ExclusionExpired',
          data: { exclusionId: 'x-301', effectiveAt: '2025-11-29T05:01:00.000Z', sources },
        },
      ])
      .when(
        { type: 'ExpireExclusion', data: { exclusionId: 'x-301' } },
        { now: '2025-12-01T00:00:00Z' },
      )
      .thenThrows('exclusion-not-active');
  });

  it('rejects an unknown exclusion', () => {
    spec
      .given([implemented()])
      .when({ type: 'ExpireExclusion', data: { exclusionId: 'nope' } })
      .thenThrows('exclusion-not-found');
  });
});
