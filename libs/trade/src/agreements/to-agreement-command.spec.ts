import { DomainError } from '@app/domain';
import {
  inMemoryActionResolver,
  recordedAgreement,
  recordedMeasure,
} from '../testing/in-memory-action-resolver';
import { toAgreementCommand } from './to-agreement-command';

const sources = [{ issuer: 'QA', title: 'A test source', official: false }];
const GENEVA = '33333333-3333-4333-8333-333333333333';
const MADRID = '44444444-4444-4444-8444-444444444444';
const LONDON = '55555555-5555-4555-8555-555555555555';

/** A commitment of Geneva's concerning `measures`, as the resolver names them. */
const commitOn = (resolver: Parameters<typeof toAgreementCommand>[2], measures: string[]) =>
  toAgreementCommand(
    GENEVA,
    {
      action: 'record-commitment',
      commitmentId: 'lower-tariffs',
      body: { obligor: 'US', kind: 'adjust', text: 'Lower it', measures, sources },
    },
    resolver,
  );

describe('toAgreementCommand: an agreement action as the decider takes it', () => {
  it('hands a reaffirmation the agreement it reaffirms and the graph beyond it, a recorded cycle read once', async () => {
    // Geneva and Madrid reaffirm each other: on record from before cycles were refused.
    const geneva = recordedAgreement(GENEVA, 'QA-GENEVA', [MADRID]);
    const madrid = recordedAgreement(MADRID, 'QA-MADRID', [GENEVA]);
    const resolver = inMemoryActionResolver({
      agreements: [geneva, madrid, recordedAgreement(LONDON, 'QA-LONDON')],
    });

    const command = await toAgreementCommand(
      LONDON,
      { action: 'reaffirm-agreement', body: { reaffirms: 'qa-geneva', sources } },
      resolver,
    );

    expect(command).toEqual({
      type: 'ReaffirmAgreement',
      data: {
        reaffirmed: geneva,
        reaffirmations: { [GENEVA]: [MADRID], [MADRID]: [GENEVA] },
        sources,
      },
    });
    expect(resolver.loads.filter((id) => id === MADRID)).toHaveLength(1);
  });

  it('leaves an unknown reaffirmed agreement to the decider, which names the field', async () => {
    const command = await toAgreementCommand(
      LONDON,
      { action: 'reaffirm-agreement', body: { reaffirms: 'QA-NONE', sources } },
      inMemoryActionResolver({}),
    );

    expect(command).toEqual({
      type: 'ReaffirmAgreement',
      data: { reaffirmed: null, reaffirmations: undefined, sources },
    });
  });

  it('names by id the measures a commitment concerns, and refuses a name that is none', async () => {
    const resolver = inMemoryActionResolver({
      measures: [recordedMeasure('11111111-1111-4111-8111-111111111111', 'QA-US')],
    });
    const commit = (measures: string[]) => commitOn(resolver, measures);

    await expect(commit(['qa-us'])).resolves.toMatchObject({
      data: { commitmentId: 'lower-tariffs', measures: ['11111111-1111-4111-8111-111111111111'] },
    });
    const refused = await commit(['QA-NONE']).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'measure-not-found', details: { measure: 'QA-NONE' } });
  });

  it('refuses a measure named by a UUID under which no measure is recorded, an agreement’s included', async () => {
    const US = '11111111-1111-4111-8111-111111111111';
    const resolver = inMemoryActionResolver({
      measures: [recordedMeasure(US, 'QA-US')],
      agreements: [recordedAgreement(GENEVA, 'QA-GENEVA')],
    });
    const commit = (measures: string[]) => commitOn(resolver, measures);

    await expect(commit([US])).resolves.toMatchObject({ data: { measures: [US] } });
    expect(resolver.loads).toEqual([]);
    for (const named of ['16f2382c-3ea6-465e-ac74-7547291d0526', GENEVA]) {
      const refused = await commit([US, named]).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DomainError);
      expect(refused).toMatchObject({
        code: 'measure-not-found',
        details: { measure: named, field: 'measures.1' },
      });
    }
  });
});
