import { nextAttemptAt, parseRetryAfter } from './webhook-retry-policy';

const DAY = 86_400_000;
const policy = { baseDelayMs: 10_000, maxDelayMs: 6 * 3_600_000, windowMs: 26 * 3_600_000 };
const start = new Date('2026-11-01T00:00:00Z');
const at = (offsetMs: number) => new Date(start.getTime() + offsetMs);

describe('nextAttemptAt', () => {
  it('backs off exponentially with equal jitter, up to the maximum delay', () => {
    const delays = [1, 2, 3, 4, 13].map((runAttempts) =>
      [0, 0.999].map(
        (random) =>
          nextAttemptAt(policy, {
            now: start,
            runStartedAt: start,
            runAttempts,
            random: () => random,
          })!.getTime() - start.getTime(),
      ),
    );
    expect(delays).toEqual([
      [5_000, 9_995],
      [10_000, 19_990],
      [20_000, 39_980],
      [40_000, 79_960],
      [10_800_000, 21_589_200],
    ]);
  });

  it('keeps retrying for more than a day, then gives up', () => {
    let now = start;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const next = nextAttemptAt(policy, { now, runStartedAt: start, runAttempts: attempts });
      if (!next) break;
      expect(next.getTime()).toBeGreaterThan(now.getTime());
      now = next;
    }
    expect(now.getTime() - start.getTime()).toBeGreaterThanOrEqual(DAY);
    expect(attempts).toBeLessThan(40);
  });

  it('honours a Retry-After longer than the backoff, up to the maximum delay', () => {
    const input = { now: start, runStartedAt: start, runAttempts: 1, random: () => 0 };
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: 120_000 })).toEqual(at(120_000));
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: 2 * DAY })).toEqual(
      at(policy.maxDelayMs),
    );
  });

  it('never lets Retry-After shorten the backoff: 0 or a past date waits the policy’s own delay', () => {
    const input = { now: start, runStartedAt: start, runAttempts: 3, random: () => 0.5 };
    const backoff = nextAttemptAt(policy, input);
    expect(backoff).toEqual(at(30_000));
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: 0 })).toEqual(backoff);
    const pastDate = parseRetryAfter('Sat, 31 Oct 2026 23:00:00 GMT', start);
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: pastDate })).toEqual(backoff);
    // Shorter than the backoff: the backoff; longer: the receiver's wait.
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: 1_000 })).toEqual(backoff);
    expect(nextAttemptAt(policy, { ...input, retryAfterMs: 45_000 })).toEqual(at(45_000));
  });

  it('spaces a run of 429s with Retry-After: 0 as it would any failure', () => {
    // The QA case: six attempts used to land within a quarter of a second.
    let now = start;
    for (let runAttempts = 1; runAttempts <= 5; runAttempts += 1) {
      now = nextAttemptAt(policy, { now, runStartedAt: start, runAttempts, retryAfterMs: 0 })!;
    }
    // 5 + 10 + 20 + 40 + 80 s at the least (the fixed half of each equal-jitter backoff).
    expect(now.getTime() - start.getTime()).toBeGreaterThanOrEqual(155_000);
  });

  it('keeps crowding retries in before a deadline when Retry-After is 0', () => {
    const input = { now: start, runStartedAt: start, runAttempts: 10, random: () => 0.5 };
    expect(nextAttemptAt(policy, { ...input, deadline: at(60_000), retryAfterMs: 0 })).toEqual(
      at(30_000),
    );
    expect(nextAttemptAt(policy, { ...input, deadline: at(500), retryAfterMs: 0 })).toEqual(
      at(1_000),
    );
    // A receiver that asks for longer than the time left is still waited for.
    expect(
      nextAttemptAt(policy, { ...input, deadline: at(60_000), retryAfterMs: 120_000 }),
    ).toEqual(at(120_000));
  });

  it('crowds retries in before a deadline, a second apart at the closest', () => {
    const input = { now: start, runStartedAt: start, runAttempts: 10, random: () => 0.5 };
    expect(nextAttemptAt(policy, { ...input, deadline: at(60_000) })).toEqual(at(30_000));
    expect(nextAttemptAt(policy, { ...input, deadline: at(500) })).toEqual(at(1_000));
    // Past the deadline the usual backoff applies again.
    expect(nextAttemptAt(policy, { ...input, deadline: at(-1) })!.getTime()).toBeGreaterThan(
      at(60_000).getTime(),
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('2', start)).toBe(2_000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 00:01:00 GMT', start)).toBe(60_000);
    expect(parseRetryAfter('soon', start)).toBeUndefined();
    expect(parseRetryAfter(undefined, start)).toBeUndefined();
  });
});
