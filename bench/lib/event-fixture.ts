import type { EventMetadata } from '@app/event-store';

/**
 * A realistic Accord event of about 500 bytes of payload JSON, plus metadata of about 300
 * bytes: both benchmarks and their baselines store exactly these objects.
 */
export function measureSuspended(seq: number): { type: string; payload: Record<string, unknown> } {
  return {
    type: 'MeasureSuspended',
    payload: {
      agreementId: `agr-eu-mercosur-${(seq % 97).toString().padStart(4, '0')}`,
      measureId: `msr-${seq.toString().padStart(10, '0')}`,
      hsCodes: ['0201.10.00', '0201.20.20', '0202.30.90', '1701.99.10'],
      partnerCountries: ['AR', 'BR', 'PY', 'UY'],
      reason:
        'Safeguard investigation opened after imports rose 38% year on year; preference ' +
        'suspended pending the committee findings.',
      legalBasis: 'Regulation (EU) 2025/1234, Article 6(2)',
      effectiveFrom: '2025-03-01',
      effectiveUntil: '2025-09-01',
      dutyRate: { previous: 0, applied: 12.8, unit: 'percent' },
      quota: { volume: 54000 + (seq % 1000), unit: 'tonnes', period: '2025' },
    },
  };
}

export function commandMetadata(commandId: string, seq: number): EventMetadata {
  return {
    actor: 'user:analyst-042@accord.example',
    correlationId: `cor-${seq.toString().padStart(12, '0')}-0000-0000-000000000000`,
    causationId: `cau-${seq.toString().padStart(12, '0')}-0000-0000-000000000000`,
    sources: [{ kind: 'official-journal', ref: 'OJ L 2025/1234', page: 12 }],
    commandId,
  };
}
