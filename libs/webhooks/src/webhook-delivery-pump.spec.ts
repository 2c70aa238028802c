import type { AttemptResult, WebhookDeliverer } from './webhook-deliverer';
import { WebhookDeliveryPump } from './webhook-delivery-pump';

/** An outcome as the deliverer hands it to the pump; only the delivery id matters here. */
const outcome = (id: string) =>
  ({ delivery: { id }, error: 'HTTP 500: \0', http: undefined }) as unknown as AttemptResult;

/** A deliverer whose writes fail as PostgreSQL fails them, for the outcomes named. */
function recorder(refuse: (batch: readonly AttemptResult[]) => Error | undefined) {
  const written: string[][] = [];
  const deliverer = {
    record: jest.fn((batch: readonly AttemptResult[]) => {
      const error = refuse(batch);
      if (error) return Promise.reject(error);
      written.push(batch.map((result) => result.delivery.id));
      return Promise.resolve();
    }),
  };
  return { deliverer: deliverer as unknown as WebhookDeliverer, written, record: deliverer.record };
}

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

/** The pump's outcome writes alone: `collect` is what a finished attempt calls. */
function flushOf(deliverer: WebhookDeliverer) {
  const pump = new WebhookDeliveryPump(deliverer, {
    databaseUrl: 'postgres://unused',
    concurrency: 1,
    pollIntervalMs: 1000,
    flushSize: 3,
  });
  const internals = pump as unknown as {
    collect(result: AttemptResult): void;
    flushing: Promise<void> | undefined;
    results: AttemptResult[];
    flushTimer: NodeJS.Timeout | undefined;
  };
  return {
    async write(ids: string[]) {
      for (const id of ids) internals.collect(outcome(id));
      await internals.flushing;
    },
    pending: () => internals.results.map((result) => result.delivery.id),
    stop: () => clearTimeout(internals.flushTimer),
  };
}

describe('WebhookDeliveryPump outcome writes', () => {
  it('writes the others when the database refuses one outcome as data, that one without its text', async () => {
    // As PostgreSQL refuses it: the receiver's NUL in the error text.
    const poisoned = (result: AttemptResult) =>
      result.delivery.id === 'poison' && result.error?.includes('\0') === true;
    const { deliverer, written, record } = recorder((batch) =>
      batch.some(poisoned)
        ? pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')
        : undefined,
    );
    const flush = flushOf(deliverer);
    await flush.write(['a', 'poison', 'b']);
    expect(written).toEqual([['a'], ['poison'], ['b']]);
    const stored = record.mock.calls.at(-2)?.[0][0];
    expect(stored?.error).toMatch(/^The outcome's text could not be stored/);
    expect(flush.pending()).toEqual([]);
    flush.stop();
  });

  it('drops an outcome the database refuses even without its text, and keeps the rest', async () => {
    const { deliverer, written } = recorder((batch) =>
      batch.some((result) => result.delivery.id === 'poison')
        ? pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')
        : undefined,
    );
    const flush = flushOf(deliverer);
    await flush.write(['a', 'poison', 'b']);
    expect(written).toEqual([['a'], ['b']]);
    expect(flush.pending()).toEqual([]);
    flush.stop();
  });

  it('keeps every outcome for the next write while the database is away', async () => {
    const { deliverer, written } = recorder(() => pgError('57P01', 'terminating connection'));
    const flush = flushOf(deliverer);
    await flush.write(['a', 'b', 'c']);
    expect(written).toEqual([]);
    expect(flush.pending()).toEqual(['a', 'b', 'c']);
    flush.stop();
  });
});
