import { randomBytes } from 'node:crypto';
import { eventually, WebhookReceiver } from '@app/testing';
import { Webhook } from 'standardwebhooks';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';
import { source, suffix, usTariffBody } from './support/write-api';

/** A `suspension.extended` body, as far as these tests read it. */
interface Extended {
  type: string;
  timestamp: string;
  data: {
    measure: { id: string; code: string; parties: string[] };
    suspension: { id: string; endsAt: string | null };
    previousEndsAt: string | null;
    extendedBy: string | null;
    eventId: string;
    retraction?: {
      eventId: string;
      reason: string;
      retractedEventId: string;
      effect: 'withdrawn' | 'reinstated';
      extension: { eventId: string; endsAt: string | null; extendedBy: string | null };
    };
  };
}

interface Received<T> {
  webhookId: string;
  body: T;
}

interface Subscription {
  id: string;
  secret: string;
  path: string;
}

const BASE = '/api/v1/webhook-subscriptions';
const DAY = 86_400_000;
/** An instant `days` from now, to the millisecond as Accord keeps it. */
const fromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();

/**
 * A retraction of a suspension's extension told to the subscribers of `suspension.extended`:
 * the real api and worker, PostgreSQL, Redis, and a receiver on loopback.
 */
describe('Webhooks for a retracted extension, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let app: ApiAndWorker;
  let receiver: WebhookReceiver;
  let counter = 0;
  const http = () => app.http();

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await startApiAndWorker('e2e_wh_retraction', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '200',
      SUBSCRIPTION_POLL_MS: '200',
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  async function subscribe(fields: Record<string, unknown>): Promise<Subscription> {
    const path = `/retraction-${(counter += 1)}`;
    const response = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url(path), ...fields })
      .expect(201);
    return { ...(response.body as { id: string; secret: string }), path };
  }

  /** What a subscription received, each body verified as Standard Webhooks. */
  function receivedBy<T>(subscription: Subscription): Received<T>[] {
    return receiver.on(subscription.path).map((request) => ({
      webhookId: request.headers['webhook-id'],
      body: new Webhook(subscription.secret).verify(request.body, request.headers) as T,
    }));
  }

  const extendedOf = (subscription: Subscription) =>
    receivedBy<Extended>(subscription)
      .filter(({ body }) => body.type === 'suspension.extended')
      .sort((a, b) => a.body.timestamp.localeCompare(b.body.timestamp));

  /** The event types of the deliveries written for a subscription, sent or not. */
  async function deliveredTypes(subscription: Subscription) {
    const response = await http().get(`${BASE}/${subscription.id}/deliveries`).set(asAdmin);
    expect(response.status).toBe(200);
    return (response.body.items as { eventType: string; payload: Extended }[]).map((delivery) => [
      delivery.eventType,
      delivery.payload.data.retraction?.eventId ?? null,
    ]);
  }

  async function recordSuspendedMeasure(code: string, endsAt: string) {
    await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201);
    const scheduled = await http()
      .post(`/api/v1/measures/${code}/suspensions`)
      .set(asAdmin)
      .send({
        startsAt: '2025-05-14T04:01:00Z',
        endsAt,
        part: { percentPoints: 24 },
        sources: [source('Suspension notice')],
      })
      .expect(201);
    return scheduled.body.suspensionId as string;
  }

  async function extend(code: string, suspensionId: string, body: Record<string, unknown>) {
    const response = await http()
      .post(`/api/v1/measures/${code}/suspensions/${suspensionId}/extensions`)
      .set(asAdmin)
      .send({ sources: [source('Extension notice')], ...body })
      .expect(200);
    return response.body.eventIds.at(-1) as string;
  }

  async function retract(code: string, eventId: string, reason = 'The notice was misread') {
    const response = await http()
      .post(`/api/v1/measures/${code}/retractions`)
      .set(asAdmin)
      .send({ eventId, reason, sources: [source('Correction')] })
      .expect(200);
    return response.body.eventIds[0] as string;
  }

  async function recordedAtOf(code: string, eventId: string) {
    const history = await http().get(`/api/v1/measures/${code}/events`).set(asAdmin).expect(200);
    const event = (history.body.items as { eventId: string; recordedAt: string }[]).find(
      (item) => item.eventId === eventId,
    );
    return event!.recordedAt;
  }

  it('tells suspension.extended subscribers the extension is withdrawn and where the end now stands', async () => {
    const code = `E2E-RETRACT-EXT-${suffix()}`;
    const exact = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measures: [code] },
    });
    const family = await subscribe({
      eventTypes: ['suspension.*'],
      filters: { parties: ['CN'], measures: [code] },
    });
    const everything = await subscribe({
      eventTypes: ['*'],
      filters: { measureKinds: ['tariff'], measures: [code] },
    });
    const cloudEvents = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measures: [code] },
      format: 'cloudevents',
    });
    const otherParty = await subscribe({ eventTypes: ['*'], filters: { parties: ['JP'] } });
    const otherKind = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measureKinds: ['export-control'] },
    });
    const otherMeasure = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measures: [`${code}-OTHER`] },
    });
    const statusOnly = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { measures: [code] },
    });

    const firstEnd = fromNow(200);
    const suspensionId = await recordSuspendedMeasure(code, firstEnd);
    const extendedEnd = fromNow(400);
    const extension = await extend(code, suspensionId, { endsAt: extendedEnd });
    const retraction = await retract(code, extension);

    const [told, withdrawn] = await eventually(
      () => {
        const received = extendedOf(exact);
        expect(received).toHaveLength(2);
        return received;
      },
      { timeoutMs: 15_000 },
    );
    expect(told.body.data).toMatchObject({
      suspension: { id: suspensionId, endsAt: extendedEnd },
      previousEndsAt: firstEnd,
      eventId: extension,
    });
    expect(told.body.data.retraction).toBeUndefined();
    expect(withdrawn.body).toMatchObject({
      type: 'suspension.extended',
      timestamp: await recordedAtOf(code, retraction),
      data: {
        measure: { code, parties: ['US', 'CN'] },
        suspension: { id: suspensionId, endsAt: firstEnd },
        previousEndsAt: extendedEnd,
        extendedBy: null,
        eventId: retraction,
        retraction: {
          eventId: retraction,
          reason: 'The notice was misread',
          retractedEventId: extension,
          effect: 'withdrawn',
          extension: { eventId: extension, endsAt: extendedEnd },
        },
      },
    });
    // A message of its own: receivers that drop webhook-ids they have seen keep it.
    expect(withdrawn.webhookId).not.toBe(told.webhookId);
    // Everything a receiver read in the extension's message is there in the same place.
    expect(shapeOf(withdrawn.body.data)).toEqual(expect.arrayContaining(shapeOf(told.body.data)));

    for (const subscription of [family, everything]) {
      await eventually(() => expect(extendedOf(subscription)).toHaveLength(2), {
        timeoutMs: 15_000,
      });
      expect(extendedOf(subscription)[1].body.data).toEqual(withdrawn.body.data);
    }
    const cloudEvent = await eventually(
      () => {
        const events = receiver
          .on(cloudEvents.path)
          .map(
            (request) =>
              new Webhook(cloudEvents.secret).verify(request.body, request.headers) as {
                id: string;
                type: string;
                time: string;
                data: Extended['data'];
              },
          )
          .filter((event) => event.data.retraction);
        expect(events).toHaveLength(1);
        return events[0];
      },
      { timeoutMs: 15_000 },
    );
    expect(cloudEvent).toMatchObject({
      type: 'dev.accord.suspension.extended',
      time: withdrawn.body.timestamp,
      data: withdrawn.body.data,
    });
    expect(cloudEvent.data).toEqual(withdrawn.body.data);

    // The matching subscriptions' deliveries were written in the transaction that wrote these:
    // none was written for the others.
    for (const subscription of [otherParty, otherKind, otherMeasure])
      expect(await deliveredTypes(subscription)).toEqual([]);
    expect(
      (await deliveredTypes(statusOnly)).filter(([type]) => type === 'suspension.extended'),
    ).toEqual([]);
  });

  it('tells the end moved forward again when the retraction is itself retracted', async () => {
    const code = `E2E-REVIVE-EXT-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measures: [code] },
    });
    const firstEnd = fromNow(200);
    const suspensionId = await recordSuspendedMeasure(code, firstEnd);
    const extension = await extend(code, suspensionId, { duration: 'P1Y' });
    const withdrawal = await retract(code, extension);
    const revival = await retract(code, withdrawal, 'The extension was right after all');

    const received = await eventually(
      () => {
        const bodies = extendedOf(subscription);
        expect(bodies).toHaveLength(3);
        return bodies;
      },
      { timeoutMs: 15_000 },
    );
    const extendedEnd = received[0].body.data.suspension.endsAt!;
    expect(
      received.map(({ body }) => [body.data.previousEndsAt, body.data.suspension.endsAt]),
    ).toEqual([
      [firstEnd, extendedEnd],
      [extendedEnd, firstEnd],
      [firstEnd, extendedEnd],
    ]);
    expect(received[2].body.data).toMatchObject({
      extendedBy: 'P1Y',
      eventId: revival,
      retraction: {
        eventId: revival,
        retractedEventId: withdrawal,
        effect: 'reinstated',
        extension: { eventId: extension, endsAt: extendedEnd, extendedBy: 'P1Y' },
      },
    });
    expect(new Set(received.map(({ webhookId }) => webhookId)).size).toBe(3);
    // What the API answers agrees with the last message.
    const measure = await http().get(`/api/v1/measures/${code}`).set(asAdmin).expect(200);
    const suspension = (measure.body.suspensions as { id: string; endsAt: string }[]).find(
      (s) => s.id === suspensionId,
    );
    expect(suspension?.endsAt).toBe(extendedEnd);
  });

  it('sends a retraction that also changes the status both messages, each with its own webhook-id', async () => {
    const code = `E2E-GAP-EXT-${suffix()}`;
    const subscription = await subscribe({ eventTypes: ['*'], filters: { measures: [code] } });
    const firstEnd = fromNow(100);
    const suspensionId = await recordSuspendedMeasure(code, firstEnd);
    // A continuation after a gap: the measure is in force again between the two.
    const continuedFrom = fromNow(150);
    const extension = await extend(code, suspensionId, {
      endsAt: fromNow(400),
      effectiveAt: continuedFrom,
    });
    const retraction = await retract(code, extension);

    const received = await eventually(
      () => {
        const ofRetraction = receivedBy<{
          type: string;
          data: { eventId?: string; cause?: { eventId: string }; asOf?: string };
        }>(subscription).filter(
          ({ body }) => body.data.eventId === retraction || body.data.cause?.eventId === retraction,
        );
        expect(ofRetraction.map(({ body }) => body.type).sort()).toEqual([
          'measure.status-changed',
          'suspension.extended',
        ]);
        return ofRetraction;
      },
      { timeoutMs: 15_000 },
    );
    expect(received[0].webhookId).not.toBe(received[1].webhookId);
    const change = received.find(({ body }) => body.type === 'measure.status-changed')!;
    expect(change.body.data.asOf).toBe(continuedFrom);
  });

  it('tells of an extension withdrawn after the suspension lapsed at the end it set', async () => {
    const code = `E2E-LAPSED-EXT-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['suspension.*'],
      filters: { measures: [code] },
    });
    const firstEnd = new Date(Date.now() + 3000).toISOString();
    const suspensionId = await recordSuspendedMeasure(code, firstEnd);
    const extendedEnd = new Date(Date.now() + 5000).toISOString();
    const extension = await extend(code, suspensionId, { endsAt: extendedEnd });
    // The worker records the lapse when the extended end comes.
    await eventually(
      async () => {
        const history = await http().get(`/api/v1/measures/${code}/events`).set(asAdmin);
        expect((history.body.items as { type: string }[]).map((e) => e.type)).toContain(
          'SuspensionLapsed',
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const retraction = await retract(code, extension);

    const withdrawn = await eventually(
      () => {
        const found = extendedOf(subscription).find(({ body }) => body.data.retraction);
        expect(found).toBeDefined();
        return found!.body;
      },
      { timeoutMs: 15_000 },
    );
    expect(withdrawn.data).toMatchObject({
      suspension: { id: suspensionId, endsAt: firstEnd },
      previousEndsAt: extendedEnd,
      eventId: retraction,
      retraction: { effect: 'withdrawn', extension: { eventId: extension } },
    });
    // It lapsed once, at the end the extension had set; nothing moves that lapse.
    const lapses = () =>
      receivedBy<Extended>(subscription)
        .filter(({ body }) => body.type === 'suspension.lapsed')
        .map(({ body }) => body.data.suspension.endsAt);
    await eventually(() => expect(lapses()).toEqual([extendedEnd]), { timeoutMs: 15_000 });
  });

  it('tells of an extension withdrawn once the end it moved has passed, and the lapse that follows', async () => {
    const code = `E2E-PASSED-EXT-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['suspension.*'],
      filters: { measures: [code] },
    });
    const firstEnd = new Date(Date.now() + 2000).toISOString();
    const suspensionId = await recordSuspendedMeasure(code, firstEnd);
    const extendedEnd = fromNow(200);
    const extension = await extend(code, suspensionId, { endsAt: extendedEnd });
    // The extension keeps the suspension running past its first end.
    await new Promise((resolve) => setTimeout(resolve, Date.parse(firstEnd) - Date.now() + 500));
    const retraction = await retract(code, extension);

    const told = await eventually(
      () => {
        const bodies = receivedBy<Extended>(subscription).map(({ body }) => body);
        const withdrawn = bodies.find((body) => body.data.retraction);
        const lapsed = bodies.find((body) => body.type === 'suspension.lapsed');
        expect(withdrawn).toBeDefined();
        expect(lapsed).toBeDefined();
        return { withdrawn: withdrawn!, lapsed: lapsed! };
      },
      { timeoutMs: 20_000 },
    );
    expect(told.withdrawn.data).toMatchObject({
      suspension: { endsAt: firstEnd },
      previousEndsAt: extendedEnd,
      eventId: retraction,
      retraction: { effect: 'withdrawn' },
    });
    expect(told.lapsed.data.suspension.endsAt).toBe(firstEnd);
  });

  it('says nothing of an extension withdrawn from a lifted suspension', async () => {
    const code = `E2E-LIFTED-EXT-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['suspension.extended'],
      filters: { measures: [code] },
    });
    const lifted = await recordSuspendedMeasure(code, fromNow(200));
    const kept = (
      await http()
        .post(`/api/v1/measures/${code}/suspensions`)
        .set(asAdmin)
        .send({
          startsAt: '2025-05-14T04:01:00Z',
          endsAt: fromNow(200),
          part: { percentPoints: 5 },
          sources: [source('Another suspension notice')],
        })
        .expect(201)
    ).body.suspensionId as string;
    const liftedExtension = await extend(code, lifted, { endsAt: fromNow(400) });
    const keptExtension = await extend(code, kept, { endsAt: fromNow(400) });
    await http()
      .post(`/api/v1/measures/${code}/suspensions/${lifted}/lifting`)
      .set(asAdmin)
      .send({ effectiveAt: new Date().toISOString(), sources: [source('Lifting notice')] })
      .expect(200);
    const liftedRetraction = await retract(code, liftedExtension);
    const keptRetraction = await retract(code, keptExtension);

    // The publisher handles a stream's events in order: once the later retraction is written,
    // the earlier one has been judged.
    await eventually(
      async () =>
        expect(await deliveredTypes(subscription)).toContainEqual([
          'suspension.extended',
          keptRetraction,
        ]),
      { timeoutMs: 15_000 },
    );
    expect(await deliveredTypes(subscription)).not.toContainEqual([
      'suspension.extended',
      liftedRetraction,
    ]);
    // The two extensions' own messages (the alert schedule's, written on their own time) and the
    // kept one's retraction.
    await eventually(
      async () =>
        expect(
          (await deliveredTypes(subscription)).filter(([type]) => type === 'suspension.extended'),
        ).toHaveLength(3),
      { timeoutMs: 15_000 },
    );
  });
});

/** Every path to a leaf of a JSON value: `suspension.endsAt`, `measure.rate.percent`. */
function shapeOf(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) =>
    shapeOf(child, prefix ? `${prefix}.${key}` : key),
  );
}
