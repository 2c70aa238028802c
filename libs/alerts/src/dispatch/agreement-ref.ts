import { isUuid } from '@app/domain';
import type { EntityManager } from 'typeorm';
import type { AgreementRef } from './alert-messages';

/** The agreement a suspension implements, as the agreement read model names it. */
export async function findAgreement(
  manager: EntityManager,
  agreementId: string | undefined,
): Promise<AgreementRef | null> {
  if (!agreementId) return null;
  const rows: { code: string | null; title: string | null }[] = isUuid(agreementId)
    ? await manager.query('SELECT code, title FROM agreement_status WHERE agreement_id = $1', [
        agreementId,
      ])
    : [];
  return { id: agreementId, code: rows[0]?.code ?? null, title: rows[0]?.title ?? null };
}
