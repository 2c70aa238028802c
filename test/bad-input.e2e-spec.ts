import type request from 'supertest';
import {
  PROBLEM_JSON,
  agreementBody,
  bearer,
  cnCountermeasureBody,
  source,
  startWriteApi,
  suffix,
  usTariffBody,
  type ApiKeyCreated,
  type WriteApiHarness,
} from './support/write-api';

/** What the cases refer to: recorded once, over HTTP, before the suite counts anything. */
interface Fixtures {
  editor: ApiKeyCreated;
  viewer: ApiKeyCreated;
  /** 34% from 2025-04-09; 24 points suspended 2025-05-14 → 2025-11-10T05:01Z; an exclusion. */
  us: {
    id: string;
    code: string;
    version: number;
    suspensionId: string;
    exclusionId: string;
    claimEventId: string;
    retractedEventId: string;
    /** The Idempotency-Key the editor used for the claim above. */
    usedKey: string;
  };
  /** Another US measure, for keys reused across measures. */
  other: { id: string; code: string };
  /** A US measure whose only suspension has been lifted. */
  lifted: { code: string; suspensionId: string };
  revoked: { code: string };
  /** A specific (per ton) rate: no part of it can be suspended. */
  specific: { code: string };
  /** A US measure on Mexico, which China cannot answer. */
  usOnMexico: { code: string };
  agreement: { id: string; code: string; version: number; commitmentId: string };
}

type Send = (f: Fixtures, api: Api) => request.Test;

interface BadInput {
  name: string;
  send: Send;
  status: number;
  code: string;
  /**
   * `errors[].field` of a validation problem (400, or 422 for a broken input rule), in any
   * order: the request's own dotted paths. A conflict (409) names its field as `field`.
   */
  fields?: string[];
  /** Further members the problem must carry, e.g. `currentVersion`. */
  extras?: (f: Fixtures) => Record<string, unknown>;
}

interface Api {
  post(path: string, body?: unknown, headers?: Record<string, string>): request.Test;
  raw(path: string, text: string, contentType?: string): request.Test;
  as(key: string | null, path: string, body: unknown): request.Test;
}

const UNKNOWN_UUID = '7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33';
const src = [source()];
const at = '2025-06-01T04:00:00Z';
/** Before the fixture suspension's end (2025-11-10): a later extension is refused as such. */
const extendedAt = '2025-11-04T20:00:00Z';
const amendment = (rate: unknown) => ({ rate, effectiveAt: at, sources: src });
const claim = { party: 'CN', statement: 'A claim.', sources: src };
const suspension = (body: Record<string, unknown>) => ({
  startsAt: at,
  endsAt: '2025-09-01T04:00:00Z',
  sources: src,
  ...body,
});
const newCode = () => `BAD-${suffix()}`;

const m = (f: Fixtures, rest = '') => `/api/v1/measures/${f.us.code}${rest}`;
const a = (f: Fixtures, rest = '') => `/api/v1/agreements/${f.agreement.code}${rest}`;

const cases: BadInput[] = [
  // ── What Fastify refuses before any controller runs ──
  {
    name: 'malformed JSON',
    send: (_f, api) => api.raw('/api/v1/measures', '{"code": "X", "title": '),
    status: 400,
    code: 'malformed-json',
  },
  {
    // 8 KB of brackets: walked by recursion, the body check overflowed the stack (a 500).
    name: 'a body nested thousands of levels deep',
    send: (_f, api) =>
      api.raw('/api/v1/measures', `{"code": "X", "rate": ${'['.repeat(4000)}${']'.repeat(4000)}}`),
    status: 400,
    code: 'validation-failed',
    fields: [`rate${'.0'.repeat(31)}`],
  },
  {
    name: 'an empty body declared as JSON, where a body is needed',
    send: (f, api) => api.raw(m(f, '/claims'), ''),
    status: 400,
    code: 'validation-failed',
  },
  {
    name: 'a body that is not JSON (text/plain)',
    send: (_f, api) => api.raw('/api/v1/agreements', 'title=Geneva', 'text/plain'),
    status: 415,
    code: 'unsupported-media-type',
  },
  {
    name: 'a body over 256 KiB',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { summary: 'x'.repeat(257 * 1024) })),
    status: 413,
    code: 'payload-too-large',
    extras: () => ({ limit: 256 * 1024 }),
  },
  {
    name: 'a JSON array instead of an object',
    send: (f, api) => api.post(m(f, '/claims'), [claim]),
    status: 400,
    code: 'validation-failed',
    fields: ['body'],
  },
  {
    name: 'JSON null',
    send: (_f, api) => api.raw('/api/v1/agreements', 'null'),
    status: 400,
    code: 'validation-failed',
    fields: ['body'],
  },
  {
    name: 'a number too large for a double (1e400)',
    send: (f, api) =>
      api.raw(
        m(f, '/amendments'),
        `{"rate":{"type":"ad-valorem","percent":1e400},"effectiveAt":"${at}","sources":${JSON.stringify(src)}}`,
      ),
    status: 400,
    code: 'validation-failed',
    fields: ['rate.percent'],
  },

  // ── Wrong types and formats (400) ──
  {
    name: 'wrong types in a measure (title, targetParties, rate.percent, sources[0].official)',
    send: (_f, api) =>
      api.post(
        '/api/v1/measures',
        usTariffBody(newCode(), {
          title: 42,
          targetParties: 'CN',
          rate: { type: 'ad-valorem', percent: '34' },
          sources: [{ ...source(), official: 'yes' }],
        }),
      ),
    status: 400,
    code: 'validation-failed',
    fields: ['title', 'targetParties', 'rate.percent', 'sources.0.official'],
  },
  {
    name: 'an unknown measure kind',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode(), { kind: 'embargo' })),
    status: 400,
    code: 'validation-failed',
    fields: ['kind'],
  },
  {
    name: 'a title of spaces only',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode(), { title: '   ' })),
    status: 400,
    code: 'validation-failed',
    fields: ['title'],
  },
  {
    name: 'no target party',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode(), { targetParties: [] })),
    status: 400,
    code: 'validation-failed',
    fields: ['targetParties'],
  },
  {
    name: 'part.percentPoints as a string',
    send: (f, api) => api.post(m(f, '/suspensions'), suspension({ part: { percentPoints: '24' } })),
    status: 400,
    code: 'validation-failed',
    fields: ['part.percentPoints'],
  },
  {
    name: 'reinstatesAutomatically as a string',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), suspension({ reinstatesAutomatically: 'yes' })),
    status: 400,
    code: 'validation-failed',
    fields: ['reinstatesAutomatically'],
  },
  {
    name: 'an instant without an offset',
    send: (f, api) =>
      api.post(m(f, '/amendments'), {
        ...amendment({ type: 'ad-valorem', percent: 30 }),
        effectiveAt: '2025-05-14T04:01:00',
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['effectiveAt'],
  },
  {
    name: 'a date that is not an instant',
    send: (f, api) => api.post(m(f, '/revocation'), { effectiveAt: '14 May 2025', sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['effectiveAt'],
  },
  {
    name: 'a day that does not exist (30 February)',
    send: (f, api) =>
      api.post(m(f, '/revocation'), { effectiveAt: '2025-02-30T05:00:00Z', sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['effectiveAt'],
  },
  {
    name: 'a retraction whose eventId is not a UUID',
    send: (f, api) =>
      api.post(m(f, '/retractions'), { eventId: 'the-claim', reason: 'x', sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['eventId'],
  },
  {
    name: 'an unknown commitment kind',
    send: (f, api) =>
      api.post(a(f, '/commitments'), { obligor: 'US', kind: 'promise', text: 'x', sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['kind'],
  },
  {
    name: 'an unknown commitment status',
    send: (f, api) =>
      api.post(a(f, `/commitments/${f.agreement.commitmentId}/status`), {
        status: 'done',
        effectiveAt: at,
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['status'],
  },
  {
    name: 'a NUL character in a text field',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { title: 'Tariff\u0000on China' })),
    status: 400,
    code: 'validation-failed',
    fields: ['title'],
  },
  {
    name: 'an unpaired surrogate in a text field',
    send: (f, api) => api.post(m(f, '/claims'), { ...claim, statement: 'broken \ud800 text' }),
    status: 400,
    code: 'validation-failed',
    fields: ['statement'],
  },

  // ── Unknown fields, top-level and nested (400) ──
  {
    name: 'an unknown top-level field',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode(), { isDraft: true })),
    status: 400,
    code: 'validation-failed',
    fields: ['isDraft'],
  },
  {
    name: 'an unknown field in rate',
    send: (f, api) =>
      api.post(m(f, '/amendments'), amendment({ type: 'ad-valorem', percent: 30, basis: 'cif' })),
    status: 400,
    code: 'validation-failed',
    fields: ['rate.basis'],
  },
  {
    name: 'an unknown field in sources[0]',
    send: (_f, api) =>
      api.post(
        '/api/v1/agreements',
        agreementBody(newCode(), { sources: [{ ...source(), publisher: 'x' }] }),
      ),
    status: 400,
    code: 'validation-failed',
    fields: ['sources.0.publisher'],
  },
  {
    name: 'an unknown field in startsWhen',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), {
        startsWhen: { measure: f.us.code, suspension: f.us.suspensionId, after: 'P1D' },
        duration: 'P1Y',
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['startsWhen.after'],
  },
  {
    name: 'an unknown field in part',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), suspension({ part: { percentPoints: 5, of: 34 } })),
    status: 400,
    code: 'validation-failed',
    fields: ['part.of'],
  },
  {
    name: 'an unknown field in scope',
    send: (f, api) =>
      api.post(m(f, '/amendments'), {
        scope: { description: 'x', countries: ['HK'] },
        effectiveAt: at,
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['scope.countries'],
  },
  {
    name: 'an unknown field in a commitment',
    send: (f, api) =>
      api.post(a(f, '/commitments'), {
        obligor: 'US',
        kind: 'suspend',
        text: 'x',
        deadline: at,
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['deadline'],
  },

  // ── Party codes (ISO 3166-1 alpha-2, assigned, upper case) ──
  {
    name: 'a three-letter imposing party (USA)',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { imposingParty: 'USA' })),
    status: 422,
    code: 'invalid-party-code',
    fields: ['imposingParty'],
  },
  {
    name: 'a lower-case target party',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { targetParties: ['CN', 'cn'] })),
    status: 422,
    code: 'invalid-party-code',
    fields: ['targetParties.1'],
  },
  {
    name: 'a reserved code (EU) as an agreement party',
    send: (_f, api) =>
      api.post('/api/v1/agreements', agreementBody(newCode(), { parties: ['US', 'EU'] })),
    status: 422,
    code: 'invalid-party-code',
    fields: ['parties.1'],
  },
  {
    name: 'an unassigned code (UK) as an obligor',
    send: (f, api) =>
      api.post(a(f, '/commitments'), { obligor: 'UK', kind: 'purchase', text: 'x', sources: src }),
    status: 422,
    code: 'invalid-party-code',
    fields: ['obligor'],
  },
  {
    name: 'an unknown party in a claim',
    send: (f, api) => api.post(m(f, '/claims'), { ...claim, party: 'XX' }),
    status: 422,
    code: 'invalid-party-code',
    fields: ['party'],
  },

  // ── Rates ──
  {
    name: 'a negative rate on a new measure',
    send: (_f, api) =>
      api.post(
        '/api/v1/measures',
        usTariffBody(newCode(), { rate: { type: 'ad-valorem', percent: -5 } }),
      ),
    status: 422,
    code: 'negative-rate',
    fields: ['rate.percent'],
  },
  {
    name: 'a negative rate in an amendment',
    send: (f, api) => api.post(m(f, '/amendments'), amendment({ type: 'ad-valorem', percent: -1 })),
    status: 422,
    code: 'negative-rate',
    fields: ['rate.percent'],
  },
  {
    name: 'a negative specific amount',
    send: (f, api) =>
      api.post(
        `/api/v1/measures/${f.specific.code}/amendments`,
        amendment({ type: 'specific', amount: -50, currency: 'USD', unit: 'net ton' }),
      ),
    status: 422,
    code: 'negative-rate',
    fields: ['rate.amount'],
  },
  {
    name: 'a negative step in a phased schedule',
    send: (f, api) =>
      api.post(
        m(f, '/amendments'),
        amendment({
          type: 'ad-valorem',
          percent: 34,
          schedule: [{ from: '2025-07-01T04:00:00Z', percent: -1 }],
        }),
      ),
    status: 422,
    code: 'negative-rate',
    fields: ['rate.schedule.0.percent'],
  },
  {
    name: 'a negative suspended part',
    send: (f, api) => api.post(m(f, '/suspensions'), suspension({ part: { percentPoints: -24 } })),
    status: 422,
    code: 'negative-rate',
    fields: ['part.percentPoints'],
  },
  {
    name: 'a currency in lower case',
    send: (f, api) =>
      api.post(
        `/api/v1/measures/${f.specific.code}/amendments`,
        amendment({ type: 'specific', amount: 50, currency: 'usd', unit: 'net ton' }),
      ),
    status: 422,
    code: 'invalid-currency',
    fields: ['rate.currency'],
  },
  {
    name: 'an HS code with a letter in an exclusion',
    send: (f, api) =>
      api.post(m(f, '/exclusions'), {
        description: 'x',
        hsCodes: ['85A1'],
        effectiveAt: at,
        sources: src,
      }),
    status: 422,
    code: 'invalid-hs-code',
    fields: ['hsCodes.0'],
  },

  // ── Dates in order ──
  {
    name: 'a suspension that ends before it starts',
    send: (f, api) =>
      api.post(
        m(f, '/suspensions'),
        suspension({ startsAt: '2025-11-10T05:01:00Z', endsAt: '2025-05-14T04:01:00Z' }),
      ),
    status: 422,
    code: 'suspension-ends-before-start',
    fields: ['endsAt'],
  },
  {
    name: 'a suspension that ends when it starts',
    send: (f, api) => api.post(m(f, '/suspensions'), suspension({ endsAt: at })),
    status: 422,
    code: 'suspension-ends-before-start',
    fields: ['endsAt'],
  },
  {
    name: 'an exclusion that ends before it is granted',
    send: (f, api) =>
      api.post(m(f, '/exclusions'), {
        description: 'x',
        effectiveAt: '2025-11-30T05:00:00Z',
        endsAt: '2025-06-01T04:00:00Z',
        sources: src,
      }),
    status: 422,
    code: 'exclusion-ends-before-start',
    fields: ['endsAt'],
  },
  {
    name: 'an extension that moves the end earlier',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        endsAt: '2025-09-01T04:00:00Z',
        effectiveAt: extendedAt,
        sources: src,
      }),
    status: 409,
    code: 'extension-not-later',
    extras: () => ({ field: 'endsAt' }),
  },
  {
    name: 'an extension to the same end',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        endsAt: '2025-11-10T00:01:00-05:00',
        effectiveAt: extendedAt,
        sources: src,
      }),
    status: 409,
    code: 'extension-not-later',
    extras: () => ({ field: 'endsAt' }),
  },
  {
    name: 'an extension by a duration, sent now, of a suspension whose end passed long ago',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        duration: 'P1M',
        sources: src,
      }),
    status: 422,
    code: 'extension-ends-before-effective',
    extras: () => ({ field: 'effectiveAt' }),
  },
  {
    name: 'an exclusion extension that moves the end earlier',
    send: (f, api) =>
      api.post(m(f, `/exclusions/${f.us.exclusionId}/extensions`), {
        endsAt: '2025-10-01T04:00:00Z',
        sources: src,
      }),
    status: 409,
    code: 'extension-not-later',
    extras: () => ({ field: 'endsAt' }),
  },

  // ── Durations and time zones ──
  {
    name: 'a duration in an unknown unit (P1Z)',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), { startsAt: at, duration: 'P1Z', sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['duration'],
  },
  {
    name: 'a duration in words',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        duration: 'one year',
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['duration'],
  },
  {
    name: 'a zero duration',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), { startsAt: at, duration: 'P0D', sources: src }),
    status: 422,
    code: 'invalid-duration',
    fields: ['duration'],
  },
  {
    // Two such measures would sum to Infinity in the tariff summary (null in JSON).
    name: 'a rate beyond any finite total',
    send: (_f, api) =>
      api.post(
        '/api/v1/measures',
        usTariffBody(newCode(), { rate: { type: 'ad-valorem', percent: 1e308 } }),
      ),
    status: 400,
    code: 'validation-failed',
    fields: ['rate.percent'],
  },
  {
    // PostgreSQL's timestamps (and the read models) cannot hold it: refused before it is
    // recorded, or every projection would fail on that event for good.
    name: 'an instant in year 0',
    send: (f, api) =>
      api.post('/api/v1/measures', {
        ...usTariffBody(`US-Y0-${suffix()}`),
        effectiveAt: '0000-01-01T00:00:00Z',
      }),
    status: 422,
    code: 'invalid-instant',
    fields: ['effectiveAt'],
  },
  {
    name: 'an instant past 9999 once in UTC',
    send: (f, api) =>
      api.post('/api/v1/measures', {
        ...usTariffBody(`US-Y9-${suffix()}`),
        effectiveAt: '9999-12-31T23:59:59-14:00',
      }),
    status: 422,
    code: 'invalid-instant',
    fields: ['effectiveAt'],
  },
  {
    name: 'a duration that ends past year 9999',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), { startsAt: at, duration: 'P300000Y', sources: src }),
    status: 422,
    code: 'invalid-duration',
    fields: ['duration'],
  },
  {
    name: 'an extension that ends past year 9999',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        duration: 'P999999999Y',
        effectiveAt: extendedAt,
        sources: src,
      }),
    status: 422,
    code: 'invalid-duration',
    fields: ['duration'],
  },
  {
    name: 'a negative duration',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), { startsAt: at, duration: '-P1Y', sources: src }),
    status: 422,
    code: 'invalid-duration',
    fields: ['duration'],
  },
  {
    name: 'both startsAt and startsWhen',
    send: (f, api) =>
      api.post(
        m(f, '/suspensions'),
        suspension({ startsWhen: { measure: f.us.code, suspension: f.us.suspensionId } }),
      ),
    status: 400,
    code: 'validation-failed',
    fields: ['startsAt'],
  },
  {
    name: 'both endsAt and duration',
    send: (f, api) => api.post(m(f, '/suspensions'), suspension({ duration: 'P90D' })),
    status: 400,
    code: 'validation-failed',
    fields: ['endsAt'],
  },
  {
    name: 'neither a start nor an end',
    send: (f, api) => api.post(m(f, '/suspensions'), { sources: src }),
    status: 400,
    code: 'validation-failed',
    fields: ['startsAt', 'endsAt'],
  },
  {
    name: 'an extension with both endsAt and duration',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/extensions`), {
        endsAt: '2026-11-10T05:01:00Z',
        duration: 'P1Y',
        sources: src,
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['endsAt'],
  },
  {
    name: 'an unknown time zone',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { timeZone: 'Mars/Olympus' })),
    status: 422,
    code: 'invalid-time-zone',
    fields: ['timeZone'],
  },
  {
    name: 'a misspelt time zone',
    send: (_f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { timeZone: 'America/NewYork' })),
    status: 422,
    code: 'invalid-time-zone',
    fields: ['timeZone'],
  },

  // ── The state of the measure or agreement ──
  {
    name: 'lifting a suspension that was already lifted',
    send: (f, api) =>
      api.post(`/api/v1/measures/${f.lifted.code}/suspensions/${f.lifted.suspensionId}/lifting`, {
        effectiveAt: '2025-08-01T04:00:00Z',
        sources: src,
      }),
    status: 409,
    code: 'suspension-not-active',
  },
  {
    name: 'lifting a suspension after it has ended',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${f.us.suspensionId}/lifting`), {
        effectiveAt: '2025-12-01T05:00:00Z',
        sources: src,
      }),
    status: 409,
    code: 'suspension-not-active',
  },
  {
    name: 'suspending a revoked measure',
    send: (f, api) => api.post(`/api/v1/measures/${f.revoked.code}/suspensions`, suspension({})),
    status: 409,
    code: 'measure-revoked',
  },
  {
    name: 'amending a revoked measure',
    send: (f, api) =>
      api.post(
        `/api/v1/measures/${f.revoked.code}/amendments`,
        amendment({ type: 'ad-valorem', percent: 10 }),
      ),
    status: 409,
    code: 'measure-revoked',
  },
  {
    name: 'revoking a revoked measure',
    send: (f, api) =>
      api.post(`/api/v1/measures/${f.revoked.code}/revocation`, { effectiveAt: at, sources: src }),
    status: 409,
    code: 'measure-revoked',
  },
  {
    name: 'a suspended part larger than the rate (40 of 34 points)',
    send: (f, api) =>
      api.post(
        m(f, '/suspensions'),
        suspension({
          startsAt: '2025-12-01T05:00:00Z',
          endsAt: '2026-12-01T05:00:00Z',
          part: { percentPoints: 40 },
        }),
      ),
    status: 409,
    code: 'suspended-part-exceeds-rate',
    extras: () => ({ field: 'part.percentPoints' }),
  },
  {
    name: 'a suspended part larger than what other suspensions leave (11 of the 10 points left)',
    send: (f, api) => api.post(m(f, '/suspensions'), suspension({ part: { percentPoints: 11 } })),
    status: 409,
    code: 'suspended-part-exceeds-rate',
    extras: () => ({ field: 'part.percentPoints' }),
  },
  {
    name: 'a rate amended below a suspended part (20% while 24 points are suspended)',
    send: (f, api) => api.post(m(f, '/amendments'), amendment({ type: 'ad-valorem', percent: 20 })),
    status: 409,
    code: 'suspended-part-exceeds-rate',
    extras: () => ({ field: 'rate' }),
  },
  {
    name: 'a suspended part of a specific rate',
    send: (f, api) =>
      api.post(
        `/api/v1/measures/${f.specific.code}/suspensions`,
        suspension({ part: { percentPoints: 5 } }),
      ),
    status: 409,
    code: 'suspended-part-not-applicable',
    extras: () => ({ field: 'part' }),
  },
  {
    name: 'a countermeasure answering a measure that does not target its party',
    send: (f, api) =>
      api.post(
        '/api/v1/measures',
        cnCountermeasureBody(newCode(), { respondsTo: [f.usOnMexico.code] }),
      ),
    status: 409,
    code: 'countermeasure-party-mismatch',
  },
  {
    name: 'a countermeasure answering a measure of its own party',
    send: (f, api) =>
      api.post('/api/v1/measures', usTariffBody(newCode(), { respondsTo: [f.us.code] })),
    status: 409,
    code: 'countermeasure-party-mismatch',
  },
  {
    name: 'a measure without any date',
    send: (_f, api) =>
      api.post(
        '/api/v1/measures',
        usTariffBody(newCode(), { announcedAt: undefined, effectiveAt: undefined }),
      ),
    status: 422,
    code: 'measure-date-required',
    fields: ['effectiveAt'],
  },
  {
    name: 'an amendment that changes nothing',
    send: (f, api) => api.post(m(f, '/amendments'), { effectiveAt: at, sources: src }),
    status: 422,
    code: 'amendment-empty',
  },
  {
    name: 'an agreement with a single party',
    send: (_f, api) =>
      api.post('/api/v1/agreements', agreementBody(newCode(), { parties: ['US'] })),
    status: 422,
    code: 'agreement-parties-required',
    fields: ['parties'],
  },
  {
    name: 'a commitment by a party that is not a party to the agreement',
    send: (f, api) =>
      api.post(a(f, '/commitments'), { obligor: 'JP', kind: 'purchase', text: 'x', sources: src }),
    status: 409,
    code: 'obligor-not-party',
    extras: () => ({ field: 'obligor' }),
  },
  {
    name: 'a commitment status that does not change',
    send: (f, api) =>
      api.post(a(f, `/commitments/${f.agreement.commitmentId}/status`), {
        status: 'pending',
        effectiveAt: at,
        sources: src,
      }),
    status: 409,
    code: 'commitment-status-unchanged',
  },
  {
    name: 'an agreement reaffirming itself',
    send: (f, api) =>
      api.post(a(f, '/reaffirmations'), { reaffirms: f.agreement.id, sources: src }),
    status: 422,
    code: 'agreement-self-reaffirmation',
    // Named as the body names it.
    extras: () => ({ field: 'reaffirms' }),
  },
  {
    name: 'retracting an event twice',
    send: (f, api) =>
      api.post(m(f, '/retractions'), {
        eventId: f.us.retractedEventId,
        reason: 'again',
        sources: src,
      }),
    status: 409,
    code: 'event-already-retracted',
  },

  // ── Unknown ids and codes (404) ──
  {
    name: 'an unknown measure UUID',
    send: (_f, api) =>
      api.post(
        `/api/v1/measures/${UNKNOWN_UUID}/amendments`,
        amendment({ type: 'ad-valorem', percent: 10 }),
      ),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'an unknown measure code',
    send: (_f, api) =>
      api.post(`/api/v1/measures/NO-SUCH-MEASURE-${suffix()}/suspensions`, suspension({})),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'an unknown measure in startsWhen',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), {
        startsWhen: { measure: `NO-SUCH-${suffix()}`, suspension: f.us.suspensionId },
        duration: 'P1Y',
        sources: src,
      }),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'an unknown suspension in startsWhen',
    send: (f, api) =>
      api.post(`/api/v1/measures/${f.other.code}/suspensions`, {
        startsWhen: { measure: f.us.code, suspension: UNKNOWN_UUID },
        duration: 'P1Y',
        sources: src,
      }),
    status: 404,
    code: 'suspension-not-found',
  },
  {
    name: 'an unknown measure in respondsTo',
    send: (_f, api) =>
      api.post(
        '/api/v1/measures',
        cnCountermeasureBody(newCode(), { respondsTo: [`NO-SUCH-${suffix()}`] }),
      ),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'an unknown suspension to extend',
    send: (f, api) =>
      api.post(m(f, `/suspensions/${UNKNOWN_UUID}/extensions`), {
        endsAt: '2026-11-10T05:01:00Z',
        sources: src,
      }),
    status: 404,
    code: 'suspension-not-found',
  },
  {
    name: 'an unknown suspension to lift',
    send: (f, api) =>
      api.post(m(f, '/suspensions/not-a-suspension/lifting'), { effectiveAt: at, sources: src }),
    status: 404,
    code: 'suspension-not-found',
  },
  {
    name: 'an unknown exclusion to extend',
    send: (f, api) =>
      api.post(m(f, `/exclusions/${UNKNOWN_UUID}/extensions`), {
        endsAt: '2026-11-10T05:01:00Z',
        sources: src,
      }),
    status: 404,
    code: 'exclusion-not-found',
  },
  {
    name: 'an unknown agreement named by a suspension',
    send: (f, api) =>
      api.post(m(f, '/suspensions'), suspension({ agreement: `NO-SUCH-${suffix()}` })),
    status: 404,
    code: 'agreement-not-found',
  },
  {
    name: 'an unknown agreement UUID',
    send: (_f, api) =>
      api.post(`/api/v1/agreements/${UNKNOWN_UUID}/commitments`, {
        obligor: 'US',
        kind: 'purchase',
        text: 'x',
        sources: src,
      }),
    status: 404,
    code: 'agreement-not-found',
  },
  {
    name: 'an unknown agreement code',
    send: (_f, api) => api.post(`/api/v1/agreements/NO-SUCH-${suffix()}/claims`, claim),
    status: 404,
    code: 'agreement-not-found',
  },
  {
    name: 'an unknown agreement to reaffirm',
    send: (f, api) =>
      api.post(a(f, '/reaffirmations'), { reaffirms: `NO-SUCH-${suffix()}`, sources: src }),
    status: 404,
    code: 'agreement-not-found',
  },
  {
    name: 'an unknown measure in a commitment',
    send: (f, api) =>
      api.post(a(f, '/commitments'), {
        obligor: 'US',
        kind: 'suspend',
        text: 'x',
        measures: [`NO-SUCH-${suffix()}`],
        sources: src,
      }),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'an unknown commitment',
    send: (f, api) =>
      api.post(a(f, `/commitments/${UNKNOWN_UUID}/status`), {
        status: 'fulfilled',
        effectiveAt: at,
        sources: src,
      }),
    status: 404,
    code: 'commitment-not-found',
  },
  {
    name: 'a NUL character in the measure code of the path',
    send: (_f, api) => api.post('/api/v1/measures/US%00RECIP/claims', claim),
    status: 404,
    code: 'measure-not-found',
  },
  {
    name: 'a NUL character in the agreement code of the path',
    send: (_f, api) => api.post('/api/v1/agreements/KL%002025/claims', claim),
    status: 404,
    code: 'agreement-not-found',
  },
  {
    name: 'a path that is not valid percent-encoding',
    send: (_f, api) => api.post('/api/v1/measures/US%ZZ/claims', claim),
    status: 400,
    code: 'bad-request',
  },
  {
    name: 'a path segment that is not UTF-8',
    send: (_f, api) => api.post('/api/v1/measures/US%ED%A0%80/claims', claim),
    status: 400,
    code: 'bad-request',
  },
  {
    name: 'a code in the path longer than the router allows',
    send: (_f, api) => api.post(`/api/v1/measures/${'X'.repeat(3000)}/claims`, claim),
    status: 414,
    code: 'uri-too-long',
  },
  {
    name: 'retracting an unknown event',
    send: (f, api) =>
      api.post(m(f, '/retractions'), { eventId: UNKNOWN_UUID, reason: 'x', sources: src }),
    status: 404,
    code: 'event-not-found',
  },
  {
    name: 'retracting an event of another stream',
    send: (f, api) =>
      api.post(a(f, '/retractions'), { eventId: f.us.claimEventId, reason: 'x', sources: src }),
    status: 404,
    code: 'event-not-found',
  },

  // ── Codes ──
  {
    name: 'a measure code already taken',
    send: (f, api) => api.post('/api/v1/measures', usTariffBody(f.us.code)),
    status: 409,
    code: 'measure-code-taken',
  },
  {
    name: 'a measure code already taken, in other case',
    send: (f, api) => api.post('/api/v1/measures', usTariffBody(f.us.code.toLowerCase())),
    status: 409,
    code: 'measure-code-taken',
  },
  {
    name: 'an agreement code already taken',
    send: (f, api) => api.post('/api/v1/agreements', agreementBody(f.agreement.code)),
    status: 409,
    code: 'agreement-code-taken',
  },
  {
    name: 'a code that cannot appear in a URL',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(`bad code ${suffix()}`)),
    status: 422,
    code: 'invalid-code',
    fields: ['code'],
  },
  {
    name: 'a code that looks like a UUID',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(UNKNOWN_UUID)),
    status: 422,
    code: 'invalid-code',
    fields: ['code'],
  },

  // ── Sources ──
  {
    name: 'no sources',
    send: (f, api) => api.post(m(f, '/revocation'), { effectiveAt: at }),
    status: 400,
    code: 'validation-failed',
    fields: ['sources'],
  },
  {
    name: 'an empty list of sources',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode(), { sources: [] })),
    status: 400,
    code: 'validation-failed',
    fields: ['sources'],
  },
  {
    name: 'a source without an issuer',
    send: (f, api) =>
      api.post(m(f, '/claims'), {
        ...claim,
        sources: [{ title: 'x', official: true }],
      }),
    status: 400,
    code: 'validation-failed',
    fields: ['sources.0.issuer'],
  },
  {
    name: 'a source whose url is not a URL',
    send: (f, api) =>
      api.post(m(f, '/claims'), { ...claim, sources: [source(), { ...source(), url: 'n/a' }] }),
    status: 422,
    code: 'invalid-source',
    fields: ['sources.1.url'],
  },

  // ── Roles ──
  {
    name: 'a viewer recording a measure',
    send: (f, api) => api.as(f.viewer.key, '/api/v1/measures', usTariffBody(newCode())),
    status: 403,
    code: 'forbidden',
    extras: () => ({ requiredRole: 'editor' }),
  },
  {
    name: 'a viewer suspending a measure',
    send: (f, api) => api.as(f.viewer.key, m(f, '/suspensions'), suspension({})),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a viewer recording a commitment',
    send: (f, api) =>
      api.as(f.viewer.key, a(f, '/commitments'), {
        obligor: 'US',
        kind: 'purchase',
        text: 'x',
        sources: src,
      }),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'no API key',
    send: (f, api) => api.as(null, m(f, '/claims'), claim),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'an unknown API key',
    send: (f, api) => api.as(`acc_${'x'.repeat(43)}`, m(f, '/claims'), claim),
    status: 401,
    code: 'unauthenticated',
  },

  // ── If-Match ──
  {
    name: 'a stale If-Match',
    send: (f, api) =>
      api.post(m(f, '/amendments'), amendment({ type: 'ad-valorem', percent: 30 }), {
        'if-match': `"${f.us.version - 1}"`,
      }),
    status: 412,
    code: 'precondition-failed',
    extras: (f) => ({ currentVersion: f.us.version }),
  },
  {
    name: 'an If-Match ahead of the resource',
    send: (f, api) =>
      api.post(a(f, '/claims'), claim, { 'if-match': `"${f.agreement.version + 5}"` }),
    status: 412,
    code: 'precondition-failed',
    extras: (f) => ({ currentVersion: f.agreement.version }),
  },
  {
    name: 'an If-Match on a resource that does not exist yet',
    send: (_f, api) => api.post('/api/v1/measures', usTariffBody(newCode()), { 'if-match': '"1"' }),
    status: 412,
    code: 'precondition-failed',
    extras: () => ({ currentVersion: 0 }),
  },
  {
    name: 'an If-Match that is not an ETag',
    send: (f, api) => api.post(m(f, '/claims'), claim, { 'if-match': 'version-3' }),
    status: 400,
    code: 'invalid-if-match',
  },
  {
    // Well-formed, but no version of ours: the precondition fails (RFC 9110 §13.1.1).
    name: 'an If-Match naming no version Accord issues',
    send: (f, api) => api.post(m(f, '/claims'), claim, { 'if-match': '"-1", "abc"' }),
    status: 412,
    code: 'precondition-failed',
  },

  // ── Idempotency-Key ──
  {
    name: 'an Idempotency-Key with a space',
    send: (f, api) => api.post(m(f, '/claims'), claim, { 'idempotency-key': 'two words' }),
    status: 400,
    code: 'invalid-idempotency-key',
  },
  {
    name: 'an Idempotency-Key over 200 characters',
    send: (f, api) => api.post(m(f, '/claims'), claim, { 'idempotency-key': 'k'.repeat(201) }),
    status: 400,
    code: 'invalid-idempotency-key',
  },
  {
    name: 'an empty Idempotency-Key',
    send: (f, api) => api.post(m(f, '/claims'), claim, { 'idempotency-key': '' }),
    status: 400,
    code: 'invalid-idempotency-key',
  },
  {
    name: 'an Idempotency-Key reused for another measure',
    send: (f, api) =>
      api.post(`/api/v1/measures/${f.other.code}/claims`, claim, {
        'idempotency-key': f.us.usedKey,
      }),
    status: 422,
    code: 'idempotency-key-reused',
  },
  {
    name: 'an Idempotency-Key reused for another agreement route',
    send: (f, api) => api.post(a(f, '/claims'), claim, { 'idempotency-key': f.us.usedKey }),
    status: 422,
    code: 'idempotency-key-reused',
  },
  {
    name: 'an Idempotency-Key reused for a different request to the same route',
    send: (f, api) =>
      api.post(
        m(f, '/claims'),
        { ...claim, statement: 'A different statement.' },
        { 'idempotency-key': f.us.usedKey },
      ),
    status: 422,
    code: 'idempotency-key-reused',
  },
];

describe('bad input, end to end: 4xx problem+json and nothing appended', () => {
  let api: WriteApiHarness;
  let fixtures: Fixtures;
  let client: Api;

  beforeAll(async () => {
    api = await startWriteApi('e2e_bad_input');
    const [editor, viewer] = await Promise.all([api.createKey('editor'), api.createKey('viewer')]);
    const as = (key: string | null, path: string, body: unknown) => {
      const test = api.http().post(path);
      if (key !== null) void test.set(bearer(key));
      return test.send(body as object);
    };
    client = {
      as,
      post: (path, body, headers = {}) =>
        api
          .http()
          .post(path)
          .set({ ...bearer(editor.key), ...headers })
          .send(body as object),
      raw: (path, text, contentType = 'application/json') =>
        api
          .http()
          .post(path)
          .set({ ...bearer(editor.key), 'content-type': contentType })
          .send(text),
    };
    fixtures = await recordFixtures(editor, viewer, client);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await api.eventCount();
    const response = await c.send(fixtures, client);
    const seen = { status: response.status, body: response.body as unknown };

    expect(seen).toMatchObject({
      status: c.status,
      body: {
        type: `https://accord.dev/problems/${c.code}`,
        title: expect.any(String),
        status: c.status,
        code: c.code,
        ...c.extras?.(fixtures),
      },
    });
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    if (c.fields) {
      const fields = (response.body.errors ?? []).map((e: { field: string }) => e.field);
      expect([...new Set(fields)].sort()).toEqual([...c.fields].sort());
    }
    expect(await api.eventCount()).toBe(before);
  });
});

/** The measures and agreement the cases point at, recorded through the API itself. */
async function recordFixtures(
  editor: ApiKeyCreated,
  viewer: ApiKeyCreated,
  api: Api,
): Promise<Fixtures> {
  const ok = async (pending: request.Test) => {
    const response = await pending;
    if (response.status >= 300) {
      throw new Error(`fixture write failed: ${response.status} ${response.text}`);
    }
    return response.body as {
      id: string;
      version: number;
      eventIds: string[];
      suspensionId?: string;
      exclusionId?: string;
      commitmentId?: string;
    };
  };
  const measure = async (body: Record<string, unknown>) => {
    const written = await ok(api.post('/api/v1/measures', body));
    return { id: written.id, code: body.code as string };
  };

  const us = await measure(usTariffBody(`US-RECIP-${suffix()}`));
  const { suspensionId } = await ok(
    api.post(`/api/v1/measures/${us.code}/suspensions`, {
      startsAt: '2025-05-14T04:01:00Z',
      endsAt: '2025-11-10T05:01:00Z',
      part: { percentPoints: 24 },
      sources: src,
    }),
  );
  const { exclusionId } = await ok(
    api.post(`/api/v1/measures/${us.code}/exclusions`, {
      description: 'Solar equipment',
      effectiveAt: '2025-06-01T04:00:00Z',
      endsAt: '2025-11-30T05:00:00Z',
      sources: src,
    }),
  );
  const usedKey = `used-${suffix()}`;
  const claimed = await ok(
    api.post(`/api/v1/measures/${us.code}/claims`, claim, { 'idempotency-key': usedKey }),
  );
  const wrong = await ok(api.post(`/api/v1/measures/${us.code}/claims`, claim));
  const retraction = await ok(
    api.post(`/api/v1/measures/${us.code}/retractions`, {
      eventId: wrong.eventIds[0],
      reason: 'Misattributed',
      sources: src,
    }),
  );

  const other = await measure(usTariffBody(`US-OTHER-${suffix()}`));

  const lifted = await measure(usTariffBody(`US-LIFTED-${suffix()}`));
  const liftedSuspension = await ok(
    api.post(`/api/v1/measures/${lifted.code}/suspensions`, {
      startsAt: '2025-05-14T04:01:00Z',
      duration: 'P90D',
      sources: src,
    }),
  );
  await ok(
    api.post(
      `/api/v1/measures/${lifted.code}/suspensions/${liftedSuspension.suspensionId}/lifting`,
      { effectiveAt: '2025-07-01T04:00:00Z', sources: src },
    ),
  );

  const revoked = await measure(usTariffBody(`US-REVOKED-${suffix()}`));
  await ok(
    api.post(`/api/v1/measures/${revoked.code}/revocation`, {
      effectiveAt: '2025-05-01T04:00:00Z',
      sources: src,
    }),
  );

  const specific = await measure(
    usTariffBody(`US-PORT-FEE-${suffix()}`, {
      kind: 'port-fee',
      rate: { type: 'specific', amount: 50, currency: 'USD', unit: 'net ton' },
    }),
  );
  const usOnMexico = await measure(usTariffBody(`US-MX-${suffix()}`, { targetParties: ['MX'] }));

  const agreementCode = `AGR-${suffix()}`;
  const agreement = await ok(api.post('/api/v1/agreements', agreementBody(agreementCode)));
  const commitment = await ok(
    api.post(`/api/v1/agreements/${agreementCode}/commitments`, {
      obligor: 'US',
      kind: 'suspend',
      text: 'Suspend 24 points.',
      sources: src,
    }),
  );

  return {
    editor,
    viewer,
    us: {
      ...us,
      version: retraction.version,
      suspensionId: suspensionId!,
      exclusionId: exclusionId!,
      claimEventId: claimed.eventIds[0],
      retractedEventId: wrong.eventIds[0],
      usedKey,
    },
    other,
    lifted: { code: lifted.code, suspensionId: liftedSuspension.suspensionId! },
    revoked,
    specific,
    usOnMexico,
    agreement: {
      id: agreement.id,
      code: agreementCode,
      version: commitment.version,
      commitmentId: commitment.commitmentId!,
    },
  };
}

/** A read route's query that names no record there can be: a 400 naming the parameter. */
interface BadReadQuery {
  url: string;
  query: Record<string, string>;
  fields: string[];
  /** The role the route needs; viewer by default. */
  as?: 'admin';
}

const SOME_UUID = '7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33';
/** Year 0000, and an instant an offset carries back into it: no record can be that old. */
const BEFORE_YEAR_ONE = ['0000-12-31T00:00:00Z', '0001-01-01T00:00:00+01:00'];
/** Integers that Number() reads, but that are not written in decimal digits. */
const NOT_DECIMAL = ['0x10', '1e2', '5.0', ' 5', ''];

const badReadQueries: BadReadQuery[] = [
  { url: '/api/v1/measures', query: { imposingParty: 'us' }, fields: ['imposingParty'] },
  { url: '/api/v1/measures', query: { targetParty: 'zz' }, fields: ['targetParty'] },
  // Two upper-case letters, but no country has them.
  { url: '/api/v1/measures', query: { targetParty: 'XX' }, fields: ['targetParty'] },
  { url: '/api/v1/measures', query: { kind: 'bogus' }, fields: ['kind'] },
  { url: '/api/v1/measures', query: { status: 'lapsed' }, fields: ['status'] },
  {
    url: '/api/v1/measures.csv',
    query: { imposingParty: 'USA', kind: 'tariffs' },
    fields: ['imposingParty', 'kind'],
  },
  { url: '/api/v1/agreements', query: { party: 'xx' }, fields: ['party'] },
  { url: '/api/v1/timeline', query: { party: 'us' }, fields: ['party'] },
  { url: '/api/v1/expiries', query: { imposingParty: 'us' }, fields: ['imposingParty'] },
  { url: '/api/v1/expiries', query: { targetParty: 'EU' }, fields: ['targetParty'] },
  { url: '/api/v1/expiries', query: { kind: 'duty' }, fields: ['kind'] },
  {
    url: '/api/v1/tariffs/summary',
    query: { imposingParty: 'QQ', targetParty: 'CN' },
    fields: ['imposingParty'],
  },
  // Instants outside 0001–9999 (UTC) are refused alike on every read, before any read model.
  ...BEFORE_YEAR_ONE.flatMap((instant): BadReadQuery[] => [
    { url: '/api/v1/measures', query: { asOf: instant }, fields: ['asOf'] },
    { url: '/api/v1/measures', query: { knownAt: instant }, fields: ['knownAt'] },
    { url: '/api/v1/measures/US-RECIPROCAL-CN', query: { asOf: instant }, fields: ['asOf'] },
    { url: '/api/v1/measures/US-RECIPROCAL-CN', query: { knownAt: instant }, fields: ['knownAt'] },
    { url: '/api/v1/measures.csv', query: { asOf: instant }, fields: ['asOf'] },
    { url: '/api/v1/measures', query: { endsBefore: instant }, fields: ['endsBefore'] },
    { url: '/api/v1/measures.csv', query: { endsBefore: instant }, fields: ['endsBefore'] },
    { url: '/api/v1/agreements', query: { knownAt: instant }, fields: ['knownAt'] },
    { url: '/api/v1/agreements/GENEVA-2025', query: { asOf: instant }, fields: ['asOf'] },
    {
      url: '/api/v1/tariffs/summary',
      query: { imposingParty: 'US', targetParty: 'CN', asOf: instant },
      fields: ['asOf'],
    },
    { url: '/api/v1/expiries', query: { from: instant }, fields: ['from'] },
    { url: '/api/v1/expiries', query: { knownAt: instant }, fields: ['knownAt'] },
    { url: '/api/v1/expiries.ics', query: { to: instant }, fields: ['to'] },
    { url: '/api/v1/timeline', query: { to: instant }, fields: ['to'] },
    { url: '/api/v1/timeline', query: { knownAt: instant }, fields: ['knownAt'] },
    { url: '/api/v1/alerts', query: { from: instant }, fields: ['from'] },
  ]),
  { url: '/api/v1/alerts', query: { to: '0000-06-01' }, fields: ['to'] },
  { url: '/api/v1/timeline', query: { from: '0000-06-01' }, fields: ['from'] },
  // Integers in decimal digits only, wherever a query takes one.
  ...NOT_DECIMAL.map((after) => ({ url: '/api/v1/events', query: { after }, fields: ['after'] })),
  { url: '/api/v1/events', query: { limit: '1e1' }, fields: ['limit'] },
  { url: '/api/v1/measures', query: { limit: '0x10' }, fields: ['limit'] },
  { url: '/api/v1/measures', query: { minPosition: '1.0' }, fields: ['minPosition'] },
  { url: '/api/v1/expiries', query: { limit: '2e1' }, fields: ['limit'] },
  { url: '/api/v1/measures/US-RECIPROCAL-CN/events', query: { after: '0x1' }, fields: ['after'] },
  {
    url: `/api/v1/webhook-subscriptions/${SOME_UUID}/deliveries`,
    query: { limit: '10.0' },
    fields: ['limit'],
    as: 'admin',
  },
  // Routes that take no query parameter refuse one, like every other route.
  {
    url: `/api/v1/webhook-subscriptions/${SOME_UUID}`,
    query: { cursor: 'x' },
    fields: ['cursor'],
    as: 'admin',
  },
  {
    url: `/api/v1/webhook-subscriptions/${SOME_UUID}/deliveries/${SOME_UUID}`,
    query: { expand: 'attempts' },
    fields: ['expand'],
    as: 'admin',
  },
  { url: '/api/v1/api-keys', query: { limit: '1' }, fields: ['limit'], as: 'admin' },
  { url: `/api/v1/api-keys/${SOME_UUID}`, query: { x: '1' }, fields: ['x'], as: 'admin' },
  { url: '/api/v1/api-keys/me/feed-token', query: { format: 'ics' }, fields: ['format'] },
];

describe('bad read queries, end to end: 400 validation-failed naming the parameter', () => {
  let api: WriteApiHarness;
  let viewer: ApiKeyCreated;

  beforeAll(async () => {
    api = await startWriteApi('e2e_bad_read_query');
    viewer = await api.createKey('viewer');
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each(
    badReadQueries.map((c) => [`${c.url} ${new URLSearchParams(c.query).toString()}`, c] as const),
  )('%s', async (_name, c) => {
    const response = await api
      .http()
      .get(c.url)
      .query(c.query)
      .set(bearer(c.as === 'admin' ? api.adminKey : viewer.key));
    expect({ status: response.status, body: response.body as unknown }).toMatchObject({
      status: 400,
      body: { status: 400, code: 'validation-failed' },
    });
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    const fields = (response.body.errors ?? []).map((e: { field: string }) => e.field);
    expect([...new Set(fields)].sort()).toEqual([...c.fields].sort());
  });

  it('still takes every valid code, kind and status', async () => {
    for (const [url, query] of [
      ['/api/v1/measures', { imposingParty: 'US', targetParty: 'CN', kind: 'port-fee' }],
      ['/api/v1/measures', { status: 'partially-suspended' }],
      ['/api/v1/agreements', { party: 'CN' }],
      ['/api/v1/timeline', { party: 'MX' }],
      ['/api/v1/expiries', { imposingParty: 'CN', targetParty: 'US', kind: 'export-control' }],
      ['/api/v1/measures', { asOf: '0001-01-01T00:00:00Z', knownAt: '9999-12-31T23:59:59Z' }],
      ['/api/v1/expiries', { from: '0001-01-01', to: '9999-12-31' }],
      ['/api/v1/timeline', { from: '0001-01-01T01:00:00+01:00', to: '9999-12-31T23:59:59Z' }],
      ['/api/v1/events', { after: '007', limit: '1000' }],
      ['/api/v1/measures', { limit: '200', minPosition: '0' }],
      ['/api/v1/api-keys/me/feed-token', {}],
    ] as const) {
      const response = await api.http().get(url).query(query).set(bearer(viewer.key));
      expect({ url, query, status: response.status }).toEqual({ url, query, status: 200 });
    }
  });

  it('refuses a webhook replay window outside 0001–9999 like the reads', async () => {
    // The query is checked before the subscription is looked up: an unknown one is then a 404.
    const replay = (since: string) =>
      api
        .http()
        .post(`/api/v1/webhook-subscriptions/${SOME_UUID}/replay`)
        .query({ since })
        .set(bearer(api.adminKey));
    for (const since of BEFORE_YEAR_ONE) {
      const response = await replay(since);
      expect({ since, status: response.status, errors: response.body.errors }).toEqual({
        since,
        status: 400,
        errors: [expect.objectContaining({ field: 'since' })],
      });
    }
    expect((await replay('0001-01-01T00:00:00Z')).status).toBe(404);
  });
});
