import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@app/testing';
import {
  ExecuteMeasureAction,
  recordMeasureBody,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../worker.module';

const source = { issuer: 'MOFCOM', title: 'Announcement No. 70', official: true };

/**
 * SPEC §5: on Redis Cluster every key of a BullMQ queue must hash to one slot, which a prefix
 * with a hash tag (`REDIS_PREFIX={accord}`) gives. The worker's alert machinery runs on such a
 * prefix, and every key it writes carries it.
 */
describe('The worker on a hash-tagged REDIS_PREFIX', () => {
  const tag = testRedisPrefix('tagged');
  const prefix = `{${tag}}`;
  const redis = new Redis(testRedisUrl());
  let db: TestDatabase;
  let app: INestApplicationContext;

  beforeAll(async () => {
    db = await createTestDatabase('alerts_tagged');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      ALERT_LEAD_TIMES: 'PT2S,PT0S',
      SUBSCRIPTION_POLL_MS: '100',
      ALERT_RELAY_POLL_MS: '100',
    });
    const moduleRef = await Test.createTestingModule({ imports: [WorkerModule] }).compile();
    moduleRef.useLogger(['error']);
    app = await moduleRef.init();
  });
  afterAll(async () => {
    await app?.close();
    await deleteRedisPrefix(prefix);
    redis.disconnect();
    await db?.drop();
  });

  const act = (measure: string | null, action: MeasureAction) =>
    app
      .get(CommandBus)
      .execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
      );

  /** Every key that names this run's tag, however it is spelt. */
  async function keysNamingTag(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `*${tag}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  }

  it('fires alerts through BullMQ, with every key inside the hash tag', async () => {
    const { id: measureId } = await act(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        title: `Port fees on US-linked vessels ${randomUUID()}`,
        kind: 'port-fee',
        imposingParty: 'CN',
        targetParties: ['US'],
        effectiveAt: '2025-10-14T00:00:00+08:00',
        sources: [source],
      }),
    });
    const { suspensionId } = await act(measureId, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-11-10T13:01:00+08:00',
        endsAt: new Date(Date.now() + 4000).toISOString(),
        sources: [source],
      },
    });

    await eventually(
      async () => {
        const rows: { lead_time: string; state: string }[] = await app
          .get(DataSource)
          .query(
            'SELECT lead_time, state FROM alert_schedule WHERE suspension_id = $1 ORDER BY fire_at',
            [suspensionId],
          );
        expect(rows.map((row) => [row.lead_time, row.state])).toEqual([
          ['PT2S', 'fired'],
          ['PT0S', 'fired'],
        ]);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );

    const keys = await keysNamingTag();
    // The queue's own keys, and the reconciler's job scheduler, are there, all in the tag.
    expect(keys).toEqual(
      expect.arrayContaining([
        `${prefix}:accord-alerts:meta`,
        expect.stringMatching(new RegExp(`^\\{${tag}\\}:accord-alerts:repeat`)),
      ]),
    );
    expect(keys.filter((key) => !key.startsWith(`${prefix}:`))).toEqual([]);
  }, 30_000);
});
