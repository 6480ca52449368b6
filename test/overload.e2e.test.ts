/**
 * A bound on HSM work in flight: past it the vault answers 503 OVERLOADED at once, before the
 * guess counter is touched, so an overloaded vault never costs a user a guess.
 */
import { call, randomElement } from './support/http';
import { snapshot } from './support/sqlite';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;

beforeAll(async () => {
  t = await startTestVault({
    hsm: { maxConcurrent: 1, maxQueue: 1 },
    policy: { backoff: { free: 1000, baseMs: 1, capMs: 1 } },
  });
});

afterAll(async () => {
  await t.close();
});

it('refuses work past the bound with 503 OVERLOADED and spends no guess for it', async () => {
  await (await t.clientFor('olga')).enroll('olga', undefined, { guessLimit: 20 });
  const token = await t.tokenFor('olga');

  const answers = await Promise.all(
    Array.from({ length: 20 }, () =>
      call(t.url, 'POST', '/v1/recoveries', {
        token,
        json: { version: 1, blindedElement: randomElement() },
      }),
    ),
  );
  const started = answers.filter((a) => a.status === 201).length;
  const overloaded = answers.filter((a) => a.status === 503);
  expect(started + overloaded.length).toBe(20);
  expect(overloaded.length).toBeGreaterThan(0);
  for (const a of overloaded) {
    expect(a.body.error.code).toBe('OVERLOADED');
    expect(a.headers.get('retry-after')).toBe('1');
  }
  expect(snapshot(t.dataDir, 'olga').record!.guesses_used).toBe(started);
});
