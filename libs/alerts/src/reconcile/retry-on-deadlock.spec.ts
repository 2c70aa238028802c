import { retryOnDeadlock } from './alert-reconciler';

describe('retryOnDeadlock', () => {
  const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
  // As TypeORM wraps a driver error (QueryFailedError).
  const wrapped = Object.assign(new Error('deadlock detected'), { driverError: { code: '40P01' } });

  it('runs a statement chosen as a deadlock victim again, and answers with its result', async () => {
    for (const victim of [deadlock, wrapped]) {
      const statement = jest.fn().mockRejectedValueOnce(victim).mockResolvedValueOnce('done');
      await expect(retryOnDeadlock(statement)).resolves.toBe('done');
      expect(statement).toHaveBeenCalledTimes(2);
    }
  });

  it('gives up after three tries, and never retries another error', async () => {
    const always = jest.fn().mockRejectedValue(deadlock);
    await expect(retryOnDeadlock(always)).rejects.toBe(deadlock);
    expect(always).toHaveBeenCalledTimes(3);
    const other = Object.assign(new Error('unique violation'), { code: '23505' });
    const once = jest.fn().mockRejectedValue(other);
    await expect(retryOnDeadlock(once)).rejects.toBe(other);
    expect(once).toHaveBeenCalledTimes(1);
  });
});
