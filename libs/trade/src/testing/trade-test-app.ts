import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import type { Source } from '@app/domain';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import type { TestDatabase } from '@app/testing';
import { DataSource } from 'typeorm';
import {
  ExecuteAgreementAction,
  type AgreementAction,
} from '../agreements/execute-agreement-action.command';
import { StreamCodeIndex } from '../codes/stream-code-index';
import {
  ExecuteMeasureAction,
  type MeasureAction,
} from '../measures/execute-measure-action.command';
import { TradeModule } from '../trade.module';
import { agreementStreamId, measureStreamId } from '../trade.streams';
import {
  concludeAgreementBody,
  recordMeasureBody,
  type ConcludeAgreementBody,
  type RecordMeasureBody,
} from '../write/trade-write.schemas';
import type { WriteOptions, WriteResult } from '../write/write-options';

/**
 * Test support for the trade write side's integration tests (never exported from the lib):
 * the trade module booted as the api boots it, on a test database that is already migrated,
 * and commands sent the way the api and the importer send them, through the CommandBus.
 */
export interface TradeTestApp {
  app: INestApplicationContext;
  commandBus: CommandBus;
  store: EventStore;
  codes: StreamCodeIndex;
  dataSource: DataSource;
  measure(
    measure: string | null,
    action: MeasureAction,
    options?: Partial<WriteOptions>,
  ): Promise<WriteResult>;
  agreement(
    agreement: string | null,
    action: AgreementAction,
    options?: Partial<WriteOptions>,
  ): Promise<WriteResult>;
  measureEvents(measureId: string): Promise<RecordedEvent[]>;
  agreementEvents(agreementId: string): Promise<RecordedEvent[]>;
  /** The stream_codes rows that name this aggregate. */
  codeRows(aggregateId: string): Promise<CodeRow[]>;
  close(): Promise<void>;
}

export interface CodeRow {
  kind: string;
  normalized_code: string;
  code: string;
  aggregate_id: string;
}

/** The acting API key's name unless a test says otherwise. */
export const EDITOR = 'editor-key';

/** Boots ConfigModule + DatabaseModule + CqrsModule + TradeModule; DATABASE_URL must name `db`. */
export async function startTradeTestApp(db: TestDatabase): Promise<TradeTestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule,
      DatabaseModule.forRoot({
        migrations: allMigrations,
        migrate: false,
        applicationName: 'test',
      }),
      CqrsModule.forRoot(),
      TradeModule,
    ],
  }).compile();
  const app = await moduleRef.init();
  const dataSource = app.get(DataSource);
  const connectedTo = (dataSource.options as { url?: string }).url;
  if (connectedTo !== db.url) {
    // Never let a test write to whatever database the environment names.
    await app.close();
    throw new Error(`Set DATABASE_URL to ${db.url} before booting (it named ${connectedTo})`);
  }
  const commandBus = app.get(CommandBus);
  const store = app.get(EventStore);
  return {
    app,
    commandBus,
    store,
    codes: app.get(StreamCodeIndex),
    dataSource,
    measure: (measure, action, options) =>
      commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: EDITOR, ...options }),
      ),
    agreement: (agreement, action, options) =>
      commandBus.execute<ExecuteAgreementAction, WriteResult>(
        new ExecuteAgreementAction(agreement, action, { actor: EDITOR, ...options }),
      ),
    measureEvents: (measureId) => store.readStream(measureStreamId(measureId)),
    agreementEvents: (agreementId) => store.readStream(agreementStreamId(agreementId)),
    codeRows: (aggregateId) =>
      dataSource.query(
        'SELECT kind, normalized_code, code, aggregate_id FROM stream_codes WHERE aggregate_id = $1',
        [aggregateId],
      ),
    close: () => app.close(),
  };
}

/** A code no other test uses (codes are unique per database, tests share one per file). */
export function uniqueCode(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toUpperCase();
}

export const whiteHouse: Source = {
  issuer: 'The White House',
  title: 'Executive Order 14257',
  documentNumber: 'EO 14257',
  official: true,
  confidence: 'H',
};

export const mofcom: Source = {
  issuer: 'MOFCOM',
  title: 'Announcement on adjusting countermeasures',
  url: 'https://english.mofcom.gov.cn/',
  official: true,
  language: 'en',
  confidence: 'H',
};

/**
 * A US tariff on China, as a `POST /measures` body that passed the api's validation: in force
 * at 34% from 2025-04-09 00:01 EDT, its clock is New York's.
 */
export function usTariff(overrides: Partial<RecordMeasureBody> = {}): RecordMeasureBody {
  return recordMeasureBody.parse({
    title: 'Reciprocal tariff on products of China',
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    legalBasis: 'IEEPA',
    rate: { type: 'ad-valorem', percent: 34 },
    timeZone: 'America/New_York',
    announcedAt: '2025-04-02T20:00:00Z',
    effectiveAt: '2025-04-09T04:01:00Z',
    sources: [whiteHouse],
    ...overrides,
  });
}

/** China's answer: imposed by CN on US goods, on Beijing's clock. */
export function cnCountermeasure(overrides: Partial<RecordMeasureBody> = {}): RecordMeasureBody {
  return recordMeasureBody.parse({
    title: 'Additional tariff on all US goods',
    kind: 'tariff',
    imposingParty: 'CN',
    targetParties: ['US'],
    rate: { type: 'ad-valorem', percent: 34 },
    timeZone: 'Asia/Shanghai',
    effectiveAt: '2025-04-10T04:01:00Z',
    sources: [mofcom],
    ...overrides,
  });
}

export function agreementBody(
  overrides: Partial<ConcludeAgreementBody> = {},
): ConcludeAgreementBody {
  return concludeAgreementBody.parse({
    title: 'Joint Statement on US-China Economic and Trade Meeting in Geneva',
    parties: ['US', 'CN'],
    venue: 'Geneva',
    concludedAt: '2025-05-12T08:00:00Z',
    sources: [whiteHouse],
    ...overrides,
  });
}

/** The error a promise rejects with (fails when it resolves), for asserting its fields. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the command to be refused, but it succeeded');
}
