/** Stream names per aggregate (SPEC §1): `measure-<id>` and `agreement-<id>`. */
export const measureStreamId = (measureId: string): string => `measure-${measureId}`;
export const agreementStreamId = (agreementId: string): string => `agreement-${agreementId}`;

export function aggregateIdOf(streamId: string): string {
  return streamId.slice(streamId.indexOf('-') + 1);
}
