import { leadTimeProblem } from './webhook-lead-time';

describe('why a subscription cannot take a lead time', () => {
  it('takes what the domain schedules', () => {
    for (const leadTime of ['P10Y', 'P9Y11M15D', 'PT1.500S', 'PT0S'])
      expect(leadTimeProblem(leadTime)).toBeUndefined();
  });

  it('says what the cap is, and that lead times are to the millisecond', () => {
    for (const leadTime of ['P121M', 'P3651D', 'soon'])
      expect(leadTimeProblem(leadTime)).toContain('up to P10Y');
    expect(leadTimeProblem('PT0.0001S')).toContain('to the millisecond');
  });
});
