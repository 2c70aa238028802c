/** The alerts' notion of "now": injected so that tests and benchmarks can move time. */
export interface AlertClock {
  now(): Date;
}

export const ALERT_CLOCK = Symbol('ALERT_CLOCK');

export const systemClock: AlertClock = { now: () => new Date() };
