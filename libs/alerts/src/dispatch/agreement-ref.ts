import { isUuid, type Suspension } from '@app/domain';
import type { EntityManager } from 'typeorm';
import { agreementIdsOf, type AgreementRef, type SuspensionAgreements } from '@app/webhooks';

/** The agreement a suspension implements, as the agreement read model names it. */
export async function findAgreement(
  manager: EntityManager,
  agreementId: string | undefined,
): Promise<AgreementRef | null> {
  if (!agreementId) return null;
  return (await findAgreements(manager, [agreementId])).get(agreementId) ?? null;
}

/** `findAgreement` for many suspensions in one query, by agreement id. */
export async function findAgreements(
  manager: EntityManager,
  agreementIds: readonly (string | undefined)[],
): Promise<Map<string, AgreementRef>> {
  const ids = [...new Set(agreementIds.filter((id): id is string => Boolean(id)))];
  const known = ids.filter((id) => isUuid(id));
  const rows: { agreement_id: string; code: string | null; title: string | null }[] = known.length
    ? await manager.query(
        `SELECT agreement_id, code, title FROM agreement_status
          WHERE agreement_id = ANY($1::uuid[])`,
        [known],
      )
    : [];
  const found = new Map(rows.map((row) => [row.agreement_id, row]));
  return new Map(
    ids.map((id) => [
      id,
      { id, code: found.get(id)?.code ?? null, title: found.get(id)?.title ?? null },
    ]),
  );
}

/** The agreements the messages of each suspension name (`SuspensionAgreements`), in one query. */
export async function findAlertAgreements(
  manager: EntityManager,
  suspensions: readonly (Suspension | undefined)[],
): Promise<SuspensionAgreements[]> {
  const ids = suspensions.map((suspension) => agreementIdsOf(suspension));
  const found = await findAgreements(
    manager,
    ids.flatMap((id) => [id.end, id.suspension]),
  );
  const refOf = (id: string | undefined) => (id && found.get(id)) || null;
  return ids.map((id) => ({ end: refOf(id.end), suspension: refOf(id.suspension) }));
}
