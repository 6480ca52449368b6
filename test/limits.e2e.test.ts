/**
 * Request limits in front of the use cases: per user after authentication, per address
 * before it, each answered with 429 RATE_LIMITED and a Retry-After.
 */
import { call } from './support/http';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;

beforeAll(async () => {
  t = await startTestVault({
    limits: {
      perIp: { points: 12, durationSeconds: 60 },
      perUser: { points: 3, durationSeconds: 60 },
      bodyBytes: 4096,
    },
  });
});

afterAll(async () => {
  await t.close();
});

it('limits each user on its own, then each address', async () => {
  const [alice, bob] = [await t.tokenFor('lim-alice'), await t.tokenFor('lim-bob')];
  const record = (token: string) => call(t.url, 'GET', '/v1/record', { token });

  const first = await Promise.all([record(alice), record(alice), record(alice)]);
  expect(first.map((a) => a.body.error.code)).toEqual(['NO_RECORD', 'NO_RECORD', 'NO_RECORD']);
  const limited = await record(alice);
  expect(limited.status).toBe(429);
  expect(limited.body.error.code).toBe('RATE_LIMITED');
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

  // Another user still gets through, until the address's budget (12) runs out.
  expect((await record(bob)).body.error.code).toBe('NO_RECORD');
  const rest = await Promise.all(Array.from({ length: 8 }, () => call(t.url, 'GET', '/v1/realm')));
  expect(rest.filter((a) => a.status === 200)).toHaveLength(7);
  expect(rest.filter((a) => a.status === 429)).toHaveLength(1);
});
