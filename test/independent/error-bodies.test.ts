/**
 * Each documented way for a call to fail, provoked raw by the independent client: the status,
 * the code and the error body's shape (docs/protocol.md, "Errors"), and that a refusal that
 * promises to change nothing spends no guess.
 */
import { randomBytes } from 'node:crypto';
import { IndependentClient, toB64 } from './client';
import { expectError } from './error-shape';
import { enrollment, startRecovery, tag, useVault } from './wire-fixture';
import { TEST_KDF } from '../support/test-vault';

const { vault, as } = useVault();

/** Sends `body` as it is, with the given content type, to `POST /v1/enrollments`. */
async function postRaw(body: string, contentType = 'application/json') {
  const headers = {
    authorization: `Bearer ${await vault().tokenFor('raw')}`,
    'content-type': contentType,
  };
  const response = await fetch(`${vault().url}/v1/enrollments`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.json() };
}

describe('authentication and paths', () => {
  it('refuses a missing, non-bearer or invalid token with UNAUTHENTICATED', async () => {
    const none = await fetch(`${vault().url}/v1/record`);
    expectError({ status: none.status, body: await none.json() }, 'UNAUTHENTICATED');
    const basic = await fetch(`${vault().url}/v1/record`, {
      headers: { authorization: 'Basic eA' },
    });
    expectError({ status: basic.status, body: await basic.json() }, 'UNAUTHENTICATED');
    const forged = new IndependentClient(vault().url, 'not.a.token');
    expectError(await forged.send('GET', '/v1/record'), 'UNAUTHENTICATED');
  });

  it('answers an unknown path, or a known path with another method, with NOT_FOUND', async () => {
    const client = await as('nobody');
    expectError(await client.send('GET', '/v1/nothing-here'), 'NOT_FOUND');
    expectError(await client.send('POST', '/v1/realm', {}), 'NOT_FOUND');
  });

  it('answers a user without a record with NO_RECORD on every record call', async () => {
    const client = await as('nobody');
    expectError(await client.send('GET', '/v1/record'), 'NO_RECORD');
    expectError(await client.send('DELETE', '/v1/record'), 'NO_RECORD');
    expectError(await startRecovery(client), 'NO_RECORD');
  });

  it('treats an id that is not one as unknown', async () => {
    const client = await as('lost');
    const commit = { unlockTag: tag(), sealedKey: toB64(randomBytes(60)) };
    for (const id of [toB64(randomBytes(16)), 'not-an-id']) {
      const enrollment = await client.send('POST', `/v1/enrollments/${id}/commit`, commit);
      expectError(enrollment, 'ENROLLMENT_NOT_FOUND');
      const recovery = await client.send('POST', `/v1/recoveries/${id}/finish`, {
        unlockTag: tag(),
      });
      expectError(recovery, 'RECOVERY_NOT_FOUND');
    }
  });
});

describe('malformed requests', () => {
  it.each([
    ['a salt of the wrong length', { salt: toB64(randomBytes(15)) }, 'salt'],
    ['a padded salt', { salt: `${toB64(randomBytes(16))}==` }, 'salt'],
    ['a salt with spare bits set', { salt: 'AAAAAAAAAAAAAAAAAAAAAB' }, 'salt'],
    [
      'a point off the curve',
      { blindedElement: toB64(Uint8Array.of(2, ...Array(32).fill(255))) },
      'blindedElement',
    ],
    [
      'the identity spelled as zeros',
      { blindedElement: toB64(new Uint8Array(33)) },
      'blindedElement',
    ],
    [
      'an uncompressed point',
      { blindedElement: toB64(Uint8Array.of(4, ...Array(64).fill(1))) },
      'blindedElement',
    ],
    ['a guess limit of zero', { guessLimit: 0 }, 'guessLimit'],
    ['a guess limit that is not whole', { guessLimit: 1.5 }, 'guessLimit'],
    ['a guess limit above 1000', { guessLimit: 1001 }, 'guessLimit'],
    ['another algorithm', { kdf: { ...TEST_KDF, alg: 'scrypt' } }, 'kdf.alg'],
    ['an unknown field', { extra: 1 }, 'extra'],
    ['an unknown field inside kdf', { kdf: { ...TEST_KDF, salt: 1 } }, 'kdf.salt'],
  ])('refuses %s with INVALID_REQUEST naming the field', async (_what, change, field) => {
    const answer = await (await as('picky')).send('POST', '/v1/enrollments', enrollment(change));
    expect(expectError(answer, 'INVALID_REQUEST').field).toBe(field);
  });

  it.each([
    ['malformed JSON', '{"kdf":', 'application/json'],
    ['an array', '[]', 'application/json'],
    ['a body over 4096 bytes', JSON.stringify({ pad: 'x'.repeat(5000) }), 'application/json'],
    ['a body sent as text/plain', JSON.stringify(enrollment()), 'text/plain'],
  ])('refuses %s with INVALID_REQUEST and no field', async (_what, body, contentType) => {
    expect(expectError(await postRaw(body, contentType), 'INVALID_REQUEST').field).toBeUndefined();
  });

  it('refuses a guess limit above the realm maximum, naming the field', async () => {
    const client = await as('greedy');
    const { guessLimit } = await client.realm();
    const answer = await client.send(
      'POST',
      '/v1/enrollments',
      enrollment({ guessLimit: guessLimit.max + 1 }),
    );
    expect(expectError(answer, 'INVALID_REQUEST').field).toBe('guessLimit');
  });

  it('accepts a JSON content type with a charset parameter', async () => {
    const answer = await postRaw(JSON.stringify(enrollment()), 'application/json; charset=utf-8');
    expect(answer.status).toBe(201);
  });

  it('accepts Argon2id parameters stronger than the realm suggests', async () => {
    const kdf = { ...TEST_KDF, iterations: 2, parallelism: 2 };
    const answer = await (await as('strong')).send('POST', '/v1/enrollments', enrollment({ kdf }));
    expect(answer.status).toBe(201);
  });

  it('refuses Argon2id parameters below the minimum with WEAK_KDF', async () => {
    const kdf = { ...TEST_KDF, iterations: 1, memoryKiB: TEST_KDF.memoryKiB / 2 };
    expectError(
      await (await as('weak')).send('POST', '/v1/enrollments', enrollment({ kdf })),
      'WEAK_KDF',
    );
  });

  it('keeps a recovery open after a refused finish, closes it once tags compare', async () => {
    const client = await as('patient');
    await client.enroll('patient');
    const start = await startRecovery(client);
    const path = `/v1/recoveries/${start.body.recoveryId}/finish`;
    const finish = (unlockTag: string) => client.send('POST', path, { unlockTag });

    expectError(await finish(toB64(randomBytes(31))), 'INVALID_REQUEST');
    const anonymous = new IndependentClient(vault().url, 'not.a.token');
    expectError(await anonymous.send('POST', path, { unlockTag: tag() }), 'UNAUTHENTICATED');
    expect(expectError(await finish(tag()), 'WRONG_PASSPHRASE').guessesRemaining).toBe(9);
    expectError(await finish(tag()), 'RECOVERY_NOT_FOUND');
  });
});

describe('guess refusals', () => {
  it('refuses a recovery with a bad point before it spends a guess', async () => {
    const client = await as('careful');
    await client.enroll('careful');
    for (const bad of [new Uint8Array(33), Uint8Array.of(3, ...Array(32).fill(255))]) {
      const start = await client.send('POST', '/v1/recoveries', {
        version: 1,
        blindedElement: toB64(bad),
      });
      expect(expectError(start, 'INVALID_REQUEST').field).toBe('blindedElement');
    }
    expect(await client.record()).toMatchObject({ guessesRemaining: 10 });
  });

  it('refuses a stale version with VERSION_MISMATCH and spends no guess', async () => {
    const client = await as('stale');
    await client.enroll('one');
    expectError(await startRecovery(client, 7), 'VERSION_MISMATCH');
    expect(await client.record()).toMatchObject({ guessesRemaining: 10 });
  });

  it('destroys the record on its last wrong guess and then says LOCKED_OUT', async () => {
    const client = await as('once');
    await client.enroll('only chance', undefined, { guessLimit: 1 });
    const start = await startRecovery(client);
    expect(start.body.guessesRemaining).toBe(0);

    const path = `/v1/recoveries/${start.body.recoveryId}/finish`;
    const finish = expectError(await client.send('POST', path, { unlockTag: tag() }), 'LOCKED_OUT');
    expect(finish.guessesRemaining).toBeUndefined();
    expect((await client.send('GET', '/v1/record')).body).toEqual({
      state: 'locked',
      lockedAt: expect.any(String),
    });
    expectError(await startRecovery(client), 'LOCKED_OUT');

    // A new enrollment replaces the tombstone with the next version.
    expect(await client.enroll('second chance')).toMatchObject({ version: 2 });
  });

  it('makes the fifth start in a row wait with RATE_LIMITED, spending no guess', async () => {
    const client = await as('hasty');
    await client.enroll('slow down');
    for (let i = 0; i < 4; i++) expect((await startRecovery(client)).status).toBe(201);

    const limited = await startRecovery(client);
    expect(expectError(limited, 'RATE_LIMITED').retryAfter).toBe(1);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await client.record()).toMatchObject({ guessesRemaining: 6 });
  });

  it('numbers a record after a forget above every earlier version', async () => {
    const client = await as('again');
    await client.enroll('first');
    await client.enroll('second');
    expect((await client.send('DELETE', '/v1/record')).status).toBe(204);
    expect(await client.enroll('third')).toMatchObject({ version: 3 });
  });
});
