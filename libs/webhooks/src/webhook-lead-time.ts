import { isMillisecondLeadTime, isValidLeadTime, MAX_LEAD_TIME } from '@app/domain';

/**
 * Why a subscription cannot take a lead time (the domain's rule, `isValidLeadTime`, shared with
 * `ALERT_LEAD_TIMES`), if it cannot.
 */
export function leadTimeProblem(leadTime: string): string | undefined {
  if (!isMillisecondLeadTime(leadTime))
    return 'must be to the millisecond: seconds with at most three decimals (PT0.0001S would be the end itself)';
  if (!isValidLeadTime(leadTime))
    return `must be an ISO 8601 duration such as P30D or PT12H, from PT0S up to ${MAX_LEAD_TIME} (years and months together at most 120 months; with days or hours as well, at most 3650 days counting 12 months as 366 days and a month as 31 days)`;
  return undefined;
}
