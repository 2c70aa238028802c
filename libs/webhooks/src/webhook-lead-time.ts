import { isMillisecondLeadTime, isValidLeadTime, LEAD_TIME_RULE } from '@app/domain';

/**
 * Why a subscription cannot take a lead time (the domain's rule, `isValidLeadTime`, shared with
 * `ALERT_LEAD_TIMES`), if it cannot.
 */
export function leadTimeProblem(leadTime: string): string | undefined {
  if (!isMillisecondLeadTime(leadTime))
    return 'must be to the millisecond: seconds with at most three decimals (PT0.0001S would be the end itself)';
  if (!isValidLeadTime(leadTime))
    return `must be an ISO 8601 duration such as P30D or PT12H, ${LEAD_TIME_RULE}`;
  return undefined;
}
