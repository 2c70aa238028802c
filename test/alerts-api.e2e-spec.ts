import { randomUUID } from 'node:crypto';
import { EventStore } from '@app/event-store';
import { bearer, PROBLEM_JSON, startWriteApi, type WriteApiHarness } from './support/write-api';

/** `GET /api/v1/alerts`: per alert, the intended, fired and delivered times (issue 5, scope 7). */
describe('alert schedule over HTTP', () => {
  let api: WriteApiHarness;
  let viewer: string;
  const measureId = randomUUID();

  beforeAll(async () => {
    api = await startWriteApi('alerts_api');
    viewer = (await api.createKey('viewer')).key;
    // Rows as the alert projection and the worker leave them: one fired and delivered, one
    // cancelled by an extension, one pending for the new end.
    await api.db.pool.query(
      `INSERT INTO alert_schedule (id, measure_id, suspension_id, lead_time, fire_at, end_at,
                                   end_version, state, outcome, fired_at, delivered_at,
                                   cancelled_at, created_position)
       VALUES
         ($1, $4, 'S1', 'P7D', '2026-11-03T05:01:00Z', '2026-11-10T05:01:00Z', 3, 'fired',
          'fired', '2026-11-03T05:01:00.120Z', '2026-11-03T05:01:00.480Z', NULL, 10),
         ($2, $4, 'S1', 'P1D', '2026-11-09T05:01:00Z', '2026-11-10T05:01:00Z', 3, 'cancelled',
          'cancelled: end-moved', NULL, NULL, '2026-11-05T12:00:00Z', 10),
         ($3, $4, 'S1', 'P1D', '2027-11-09T05:01:00Z', '2027-11-10T05:01:00Z', 7, 'pending',
          NULL, NULL, NULL, NULL, 20)`,
      [randomUUID(), randomUUID(), randomUUID(), measureId],
    );
  });
  afterAll(() => api?.close());

  const list = (query: Record<string, string | number>) =>
    api.http().get('/api/v1/alerts').query(query).set(bearer(viewer));

  it('lists a measure’s alerts by intended fire time with fired and delivered times', async () => {
    const response = await list({ measure: measureId });

    expect(response.status).toBe(200);
    expect(response.body.nextCursor).toBeNull();
    expect(
      response.body.items.map((alert: Record<string, unknown>) => [
        alert.leadTime,
        alert.state,
        alert.fireAt,
        alert.firedAt,
        alert.deliveredAt,
        alert.endVersion,
      ]),
    ).toEqual([
      [
        'P7D',
        'fired',
        '2026-11-03T05:01:00.000Z',
        '2026-11-03T05:01:00.120Z',
        '2026-11-03T05:01:00.480Z',
        3,
      ],
      ['P1D', 'cancelled', '2026-11-09T05:01:00.000Z', null, null, 3],
      ['P1D', 'pending', '2027-11-09T05:01:00.000Z', null, null, 7],
    ]);
  });

  it('filters by state and window, and pages with a cursor', async () => {
    const pending = await list({ measure: measureId, state: 'pending' });
    expect(pending.body.items.map((alert: { endVersion: number }) => alert.endVersion)).toEqual([
      7,
    ]);

    const first = await list({ measure: measureId, limit: 2, to: '2027-01-01' });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toBeNull();

    const page1 = await list({ measure: measureId, limit: 1 });
    const page2 = await list({ measure: measureId, limit: 1, cursor: page1.body.nextCursor });
    expect(page2.body.items[0].state).toBe('cancelled');

    const bad = await list({ cursor: 'not-a-cursor' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(PROBLEM_JSON);
    // Shaped like a cursor, but neither its instant nor its id could be one a page handed out.
    for (const forged of ['2025-01-01T00:00:00Z|' + '-'.repeat(36), '+010000-01-01T00:00:00Z|x']) {
      const refused = await list({ cursor: Buffer.from(forged).toString('base64url') });
      expect(refused.status).toBe(400);
    }
  });

  it('waits for the schedule projection to pass minPosition, or answers 503', async () => {
    // A log that reaches past the checkpoint below (no worker runs here to project it).
    const store = new EventStore(api.db.pool);
    const written = await store
      .append(
        `alerts-api-${randomUUID()}`,
        Array.from({ length: 21 }, () => ({ type: 'Padding', payload: {} })),
      )
      .finally(() => store.close());
    const head = written.positions.at(-1)!;
    await api.db.pool.query(
      `INSERT INTO subscription_checkpoints (name, position) VALUES ('projection:alert-schedule', 20)
       ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position`,
    );
    const reached = await list({ measure: measureId, minPosition: 20 });
    expect(reached.status).toBe(200);
    expect(reached.body.items).toHaveLength(3);

    const ahead = await list({ measure: measureId, minPosition: 21 });
    expect(ahead.status).toBe(503);
    expect(ahead.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(ahead.body).toMatchObject({ code: 'not-caught-up', minPosition: 21 });

    // A position no event has: refused at once, no wait and no retry can reach it.
    const beyond = await list({ measure: measureId, minPosition: head + 1 });
    expect(beyond.status).toBe(400);
    expect(beyond.body).toMatchObject({
      code: 'min-position-beyond-head',
      minPosition: head + 1,
      head,
    });
  }, 15_000);

  it('needs a key', async () => {
    const response = await api.http().get('/api/v1/alerts');
    expect(response.status).toBe(401);
  });
});
