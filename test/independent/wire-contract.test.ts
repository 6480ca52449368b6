/**
 * The success bodies of every call in docs/protocol.md's wire contract, sent raw by the
 * independent client and compared field for field with the document.
 */
import { randomBytes } from 'node:crypto';
import { IndependentClient, toB64 } from './client';
import { ID16, POINT, RFC3339_UTC, enrollment, startRecovery, tag, useVault } from './wire-fixture';
import { TEST_KDF } from '../support/test-vault';

const { vault, as } = useVault();

describe('the documented success bodies', () => {
  it('describes the realm to a caller without a token', async () => {
    const realm = await new IndependentClient(vault().url, '').send('GET', '/v1/realm');
    expect(realm.status).toBe(200);
    expect(realm.body).toEqual({
      realmId: expect.stringMatching(ID16),
      suite: 'bkv1',
      kdf: TEST_KDF,
      kdfMinimum: TEST_KDF,
      guessLimit: { default: 10, max: expect.any(Number) },
    });
  });

  it('answers each step of an enrollment, a recovery and a forget', async () => {
    const client = await as('shape');
    const start = await client.send('POST', '/v1/enrollments', enrollment({ guessLimit: 3 }));
    expect(start.status).toBe(201);
    expect(start.body).toEqual({
      enrollmentId: expect.stringMatching(ID16),
      evaluatedElement: expect.stringMatching(POINT),
      expiresAt: expect.stringMatching(RFC3339_UTC),
    });

    const path = `/v1/enrollments/${start.body.enrollmentId}/commit`;
    const commit = await client.send('POST', path, {
      unlockTag: tag(),
      sealedKey: toB64(randomBytes(60)),
    });
    expect(commit.status).toBe(201);
    expect(commit.body).toEqual({ version: 1, guessLimit: 3, guessesRemaining: 3 });

    const record = await client.send('GET', '/v1/record');
    expect(record.status).toBe(200);
    expect(record.body).toEqual({
      state: 'active',
      version: 1,
      kdf: TEST_KDF,
      salt: expect.stringMatching(ID16),
      guessLimit: 3,
      guessesRemaining: 3,
      createdAt: expect.stringMatching(RFC3339_UTC),
    });

    const recovery = await startRecovery(client);
    expect(recovery.status).toBe(201);
    expect(recovery.body).toEqual({
      recoveryId: expect.stringMatching(ID16),
      evaluatedElement: expect.stringMatching(POINT),
      guessesRemaining: 2,
      expiresAt: expect.stringMatching(RFC3339_UTC),
    });

    const forget = await client.send('DELETE', '/v1/record');
    expect(forget).toMatchObject({ status: 204, body: undefined });
  });

  it('names every response, errors included, with an X-Request-Id header', async () => {
    const client = await as('named');
    for (const answer of [
      await client.send('GET', '/v1/realm'),
      await client.send('GET', '/v1/record'),
    ]) {
      expect(answer.headers.get('x-request-id')).toMatch(/^\S+$/);
    }
  });
});
