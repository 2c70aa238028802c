import { DomainError } from '@app/domain';
import {
  inMemoryActionResolver,
  recordedAgreement,
  recordedMeasure,
} from '../testing/in-memory-action-resolver';
import { toMeasureCommand } from './to-measure-command';

const sources = [{ issuer: 'QA', title: 'A test source', official: false }];
const usTariff = recordedMeasure('11111111-1111-4111-8111-111111111111', 'QA-US');
const cnTariff = recordedMeasure('22222222-2222-4222-8222-222222222222', 'QA-CN', 'CN', ['US']);
const geneva = recordedAgreement('33333333-3333-4333-8333-333333333333', 'QA-GENEVA');

describe('toMeasureCommand: a measure action as the decider takes it', () => {
  it('names by id what the action names by code, and loads the measure a suspension waits for', async () => {
    const resolver = inMemoryActionResolver({
      measures: [usTariff, cnTariff],
      agreements: [geneva],
    });

    const command = await toMeasureCommand(
      cnTariff.id,
      {
        action: 'schedule-suspension',
        suspensionId: 'cn-pause',
        body: {
          startsWhen: { measure: 'qa-us', suspension: 'us-pause' },
          duration: 'P90D',
          agreement: 'QA-GENEVA',
          sources,
        },
      },
      resolver,
    );

    expect(command).toEqual({
      type: 'ScheduleSuspension',
      data: {
        suspensionId: 'cn-pause',
        startsWhen: { measure: usTariff.id, suspension: 'us-pause' },
        triggerMeasure: usTariff,
        agreement: geneva.id,
        duration: 'P90D',
        sources,
      },
    });
  });

  it('does not load the measure itself when a suspension waits for another of its own', async () => {
    const resolver = inMemoryActionResolver({ measures: [usTariff] });

    const command = await toMeasureCommand(
      usTariff.id,
      {
        action: 'schedule-suspension',
        suspensionId: 'second-pause',
        body: {
          startsWhen: { measure: 'QA-US', suspension: 'first-pause' },
          duration: 'P90D',
          sources,
        },
      },
      resolver,
    );

    expect(command).toMatchObject({
      data: { startsWhen: { measure: usTariff.id }, triggerMeasure: undefined },
    });
    expect(resolver.loads).toEqual([]);
  });

  it('hands a countermeasure the measures it answers, and refuses one that names none', async () => {
    const resolver = inMemoryActionResolver({ measures: [usTariff] });
    const record = (respondsTo: string[]) =>
      toMeasureCommand(
        cnTariff.id,
        {
          action: 'record-measure',
          body: {
            title: 'QA-CN',
            kind: 'tariff',
            imposingParty: 'CN',
            targetParties: ['US'],
            timeZone: 'Asia/Shanghai',
            effectiveAt: '2025-04-10T04:01:00Z',
            respondsTo,
            sources,
          },
        },
        resolver,
      );

    await expect(record(['QA-US'])).resolves.toMatchObject({
      type: 'RecordMeasure',
      data: { measureId: cnTariff.id, respondsTo: [usTariff] },
    });
    const refused = await record(['QA-NONE']).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'measure-not-found', details: { measure: 'QA-NONE' } });
  });

  it('refuses an agreement named by a UUID under which no agreement is recorded, a measure’s included', async () => {
    const resolver = inMemoryActionResolver({
      measures: [usTariff, cnTariff],
      agreements: [geneva],
    });
    const suspend = (agreement: string) =>
      toMeasureCommand(
        cnTariff.id,
        {
          action: 'schedule-suspension',
          suspensionId: 'cn-pause',
          body: { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D', agreement, sources },
        },
        resolver,
      );
    const extend = (agreement: string) =>
      toMeasureCommand(
        cnTariff.id,
        {
          action: 'extend-suspension',
          suspensionId: 'cn-pause',
          body: { endsAt: '2025-12-01T04:01:00Z', agreement, sources },
        },
        resolver,
      );

    await expect(suspend(geneva.id.toUpperCase())).resolves.toMatchObject({
      data: { agreement: geneva.id },
    });
    // Found by one existence check, without loading the agreement.
    expect(resolver.loads).toEqual([]);
    for (const write of [suspend, extend]) {
      for (const named of ['0a28f392-9e66-4974-a920-1246940171f0', usTariff.id, 'QA-NONE']) {
        const refused = await write(named).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(DomainError);
        expect(refused).toMatchObject({
          code: 'agreement-not-found',
          details: { agreement: named, field: 'agreement' },
        });
      }
    }
  });
});
