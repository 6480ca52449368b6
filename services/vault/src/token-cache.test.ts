import { cachedVerifier, type VerifiedToken } from './token-cache';

const T0 = 1_800_000_000_000;
const HOUR = 3600;
const ANN: VerifiedToken = { sub: 'ann', exp: T0 / 1000 + HOUR };

/**
 * A verifier that knows a fixed set of tokens, refuses the rest and anything past its `exp`
 * (as jose does), and counts how often it is asked.
 */
function fakeVerifier(tokens: Record<string, VerifiedToken>, clock: () => number) {
  return jest.fn(async (token: string) => {
    const known = tokens[token];
    if (!known || clock() >= known.exp * 1000) throw new Error('refused');
    return known;
  });
}

describe('cachedVerifier', () => {
  let now: number;
  const clock = () => now;
  const tokens: Record<string, VerifiedToken> = {
    'token-a': ANN,
    'token-b': { sub: 'bob', exp: T0 / 1000 + HOUR },
    'token-c': { sub: 'cyd', exp: T0 / 1000 + HOUR },
    'short-lived': { sub: 'dee', exp: T0 / 1000 + 10 },
  };

  beforeEach(() => {
    now = T0;
  });

  it('answers the second showing of a token without verifying it again', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock });
    await expect(authenticate('token-a')).resolves.toBe('ann');
    now += 5_000;
    await expect(authenticate('token-a')).resolves.toBe('ann');
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('verifies a different token on its own', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock });
    await authenticate('token-a');
    await expect(authenticate('token-b')).resolves.toBe('bob');
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify).toHaveBeenLastCalledWith('token-b');
  });

  it('verifies a token again once a minute has passed', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock });
    await authenticate('token-a');
    now = T0 + 59_999;
    await authenticate('token-a');
    expect(verify).toHaveBeenCalledTimes(1);

    now = T0 + 60_000;
    await expect(authenticate('token-a')).resolves.toBe('ann');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('verifies again, and refuses, a token past its expiry inside the minute', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock });
    await expect(authenticate('short-lived')).resolves.toBe('dee');
    now = T0 + 9_000;
    await expect(authenticate('short-lived')).resolves.toBe('dee');
    expect(verify).toHaveBeenCalledTimes(1);

    now = T0 + 11_000;
    await expect(authenticate('short-lived')).rejects.toThrow('refused');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('does not remember a refusal', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock });
    await expect(authenticate('forged')).rejects.toThrow('refused');
    await expect(authenticate('forged')).rejects.toThrow('refused');
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('does not remember a refusal of a token it once accepted', async () => {
    let revoked = false;
    const verify = jest.fn(async (_token: string) => {
      if (revoked) throw new Error('refused');
      return ANN;
    });
    const authenticate = cachedVerifier(verify, { clock });
    await authenticate('token-a');
    revoked = true;
    now += 60_000;
    await expect(authenticate('token-a')).rejects.toThrow('refused');
    await expect(authenticate('token-a')).rejects.toThrow('refused');
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('forgets the oldest token when it holds maxEntries', async () => {
    const verify = fakeVerifier(tokens, clock);
    const authenticate = cachedVerifier(verify, { clock, maxEntries: 2 });
    await authenticate('token-a');
    await authenticate('token-b');
    await authenticate('token-c');
    expect(verify).toHaveBeenCalledTimes(3);

    await authenticate('token-b');
    await authenticate('token-c');
    expect(verify).toHaveBeenCalledTimes(3);
    await authenticate('token-a');
    expect(verify).toHaveBeenCalledTimes(4);
    expect(verify).toHaveBeenLastCalledWith('token-a');
  });

  it('keeps a hash of the token, never the token itself', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2ln';
    const set = jest.spyOn(Map.prototype, 'set');
    try {
      const authenticate = cachedVerifier(async () => ANN, { clock });
      await authenticate(token);
      expect(set).toHaveBeenCalled();
      expect(JSON.stringify(set.mock.calls)).not.toContain(token);
    } finally {
      set.mockRestore();
    }
  });

  it.each([
    ['a zero maxAgeMs', { maxAgeMs: 0 }],
    ['a zero maxEntries', { maxEntries: 0 }],
    ['a fractional maxEntries', { maxEntries: 1.5 }],
  ])('refuses %s when it is made', (_why, options) => {
    expect(() => cachedVerifier(async () => ANN, options)).toThrow(RangeError);
  });
});
