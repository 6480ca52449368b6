/** The backoff reference that the stores' SQL is checked against in the contract suite. */
import { backoffDelayMs, backoffParams, maxShift } from './backoff';

describe('backoffDelayMs', () => {
  it('costs nothing for the free failures, then doubles from the base up to the cap', () => {
    const policy = { free: 3, baseMs: 500, capMs: 3000 };
    const waits = [1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelayMs(policy, n));
    expect(waits).toEqual([0, 0, 0, 500, 1000, 2000, 3000, 3000]);
  });

  it('stops shifting once the cap is reached, so huge counts cannot overflow', () => {
    expect(maxShift({ free: 0, baseMs: 1000, capMs: 60_000 })).toBe(6);
    expect(maxShift({ free: 0, baseMs: 1000, capMs: 1000 })).toBe(0);
    expect(maxShift({ free: 0, baseMs: 0, capMs: 0 })).toBe(0);
    expect(backoffDelayMs({ free: 0, baseMs: 1, capMs: 2 ** 50 }, 10_000)).toBe(2 ** 40);
  });

  it('refuses a policy that is negative, fractional or capped below its base', () => {
    for (const policy of [
      { free: -1, baseMs: 1, capMs: 2 },
      { free: 0, baseMs: 1.5, capMs: 2 },
      { free: 0, baseMs: 10, capMs: 2 },
    ]) {
      expect(() => backoffParams(policy)).toThrow(
        expect.objectContaining({ code: 'INVALID_REQUEST' }),
      );
    }
  });
});
