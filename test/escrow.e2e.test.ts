/**
 * Passphrase escrow end to end, through HTTP, against real SoftHSM and a real SQLite file.
 */
import { BkvError, toBase64url } from '@bkv/protocol';
import { call, randomElement } from './support/http';
import { snapshot } from './support/sqlite';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;

beforeAll(async () => {
  t = await startTestVault();
});

afterAll(async () => {
  await t.close();
});

async function codeOf(promise: Promise<unknown>): Promise<BkvError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof BkvError)) throw new Error(`expected a BkvError, got ${String(err)}`);
  return err;
}

describe('passphrase escrow through HTTP', () => {
  it('recovers the enrolled key from a fresh client', async () => {
    const enrolled = await (await t.clientFor('alice')).enroll('correct horse battery staple');
    expect(enrolled).toMatchObject({ version: 1, guessLimit: 10, guessesRemaining: 10 });

    const recovered = await (await t.clientFor('alice')).recover('correct horse battery staple');
    expect(toBase64url(recovered.key)).toBe(toBase64url(enrolled.key));
    expect(recovered.version).toBe(1);
  });

  it('escrows a key the app already has', async () => {
    const key = new Uint8Array(32).map((_, i) => i);
    await (await t.clientFor('carol')).enroll('pass phrase', key);
    const recovered = await (await t.clientFor('carol')).recover('pass phrase');
    expect(recovered.key).toEqual(key);
  });

  it('destroys the record after the tenth wrong passphrase', async () => {
    const client = await t.clientFor('bob');
    await client.enroll('right one', undefined, { guessLimit: 10 });

    for (let guess = 1; guess <= 9; guess++) {
      const err = await codeOf(client.recover(`wrong ${guess}`));
      expect(err.code).toBe('WRONG_PASSPHRASE');
      expect(err.details.guessesRemaining).toBe(10 - guess);
      t.advance(3_600_000); // past any backoff
    }
    expect((await codeOf(client.recover('wrong 10'))).code).toBe('LOCKED_OUT');

    // The key material is gone from the row; the tombstone answers.
    const row = snapshot(t.dataDir, 'bob').record!;
    expect(row.state).toBe('locked');
    expect(row.wrapped_oprf_key).toBeNull();
    expect(row.sealed).toBeNull();
    expect(row.oprf_public_key).toBeNull();
    expect(await client.status()).toMatchObject({ state: 'locked' });
    expect((await codeOf(client.recover('right one'))).code).toBe('LOCKED_OUT');
  });

  it('resets the count after the right passphrase follows wrong ones', async () => {
    const client = await t.clientFor('dave');
    await client.enroll('the right one');
    for (let i = 0; i < 2; i++) await codeOf(client.recover('nope'));
    expect(await client.status()).toMatchObject({ guessesRemaining: 8 });

    await client.recover('the right one');
    expect(await client.status()).toMatchObject({ guessesRemaining: 10 });
  });

  it('answers 429 with Retry-After once failures in a row pass the free ones', async () => {
    const client = await t.clientFor('erin');
    await client.enroll('erin secret');
    // Three failures are free; the fourth sets a one-second wait.
    for (let i = 0; i < 4; i++) await codeOf(client.recover('bad'));
    const limited = await codeOf(client.recover('erin secret'));
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.details.retryAfter).toBe(1);

    const token = await t.tokenFor('erin');
    const raw = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');

    t.advance(1_000);
    await expect(client.recover('erin secret')).resolves.toMatchObject({ version: 1 });
  });

  it('replaces the record on re-enrollment and refuses a recovery of the old version', async () => {
    const client = await t.clientFor('frank');
    await client.enroll('first');
    const second = await client.enroll('second');
    expect(second.version).toBe(2);

    const token = await t.tokenFor('frank');
    const stale = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_MISMATCH');
    expect((await codeOf(client.recover('first'))).code).toBe('WRONG_PASSPHRASE');
    await expect(client.recover('second')).resolves.toMatchObject({ version: 2 });
  });

  it('deletes the record on forget', async () => {
    const client = await t.clientFor('gina');
    await client.enroll('gina');
    expect(await client.forget()).toBe(true);
    expect(snapshot(t.dataDir, 'gina').record).toBeUndefined();
    expect(await client.status()).toBeNull();
    expect(await client.forget()).toBe(false);
  });

  it('numbers the record after a forget above the forgotten one', async () => {
    const client = await t.clientFor('kate');
    await client.enroll('before');
    const token = await t.tokenFor('kate');
    const inFlight = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    expect(inFlight.status).toBe(201);
    await client.forget();
    expect(await client.enroll('after')).toMatchObject({ version: 2 });

    const stale = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_MISMATCH');
    // The forgotten generation's recovery counts nothing against the new record.
    const late = await call(t.url, 'POST', `/v1/recoveries/${inFlight.body.recoveryId}/finish`, {
      token,
      json: { unlockTag: toBase64url(new Uint8Array(32)) },
    });
    expect(late.body.error.code).toBe('RECOVERY_NOT_FOUND');
    expect(await client.status()).toMatchObject({ version: 2, guessesRemaining: 10 });
  });

  it('finishes a recovery once, and only for the user who started it', async () => {
    const client = await t.clientFor('iris');
    await client.enroll('iris');
    const token = await t.tokenFor('iris');
    const start = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    expect(start.status).toBe(201);
    const finish = (who: string) =>
      call(t.url, 'POST', `/v1/recoveries/${start.body.recoveryId}/finish`, {
        token: who,
        json: { unlockTag: toBase64url(new Uint8Array(32)) },
      });

    const other = await finish(await t.tokenFor('mallory'));
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('RECOVERY_NOT_FOUND');
    const first = await finish(token);
    expect(first.body.error.code).toBe('WRONG_PASSPHRASE');
    const again = await finish(token);
    expect(again.body.error.code).toBe('RECOVERY_NOT_FOUND');
  });

  it('refuses a recovery finished after its expiry', async () => {
    const client = await t.clientFor('jack');
    await client.enroll('jack');
    const token = await t.tokenFor('jack');
    const start = await call(t.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    });
    t.advance(301_000);
    const late = await call(t.url, 'POST', `/v1/recoveries/${start.body.recoveryId}/finish`, {
      token,
      json: { unlockTag: toBase64url(new Uint8Array(32)) },
    });
    expect(late.body.error.code).toBe('RECOVERY_NOT_FOUND');
  });
});

describe('the guess counter under concurrency', () => {
  let u: TestVault;

  beforeAll(async () => {
    // No backoff here, so that the budget alone stops the guessing.
    u = await startTestVault({ policy: { backoff: { free: 1000, baseMs: 1, capMs: 1 } } });
  });

  afterAll(async () => {
    await u.close();
  });

  it('lets 100 concurrent starts evaluate at most the 10 guesses left', async () => {
    const client = await u.clientFor('henry');
    await client.enroll('henry');
    const token = await u.tokenFor('henry');

    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        call(u.url, 'POST', '/v1/recoveries', {
          token,
          json: { version: 1, blindedElement: randomElement() },
        }),
      ),
    );
    const evaluated = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201).map((a) => a.body.error.code);
    expect(evaluated.length).toBe(10);
    expect(new Set(refused)).toEqual(new Set(['LOCKED_OUT']));

    // The spent guesses equal the evaluations that left the service.
    const row = snapshot(u.dataDir, 'henry').record!;
    expect(row.guesses_used).toBe(evaluated.length);
    expect(row.state).toBe('locked');
  });

  it('never evaluates more than the guesses left when some are already spent', async () => {
    const client = await u.clientFor('ivan');
    await client.enroll('ivan', undefined, { guessLimit: 10 });
    for (let i = 0; i < 4; i++) await codeOf(client.recover('wrong'));
    const token = await u.tokenFor('ivan');

    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(u.url, 'POST', '/v1/recoveries', {
          token,
          json: { version: 1, blindedElement: randomElement() },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(6);
    expect(snapshot(u.dataDir, 'ivan').record!.guesses_used).toBe(10);
  });
});
