/**
 * Invariant 5: bad input is refused with a 4xx and its code before any counter or row
 * changes. Each case runs against a user with an active record and pending work, and the
 * user's rows are compared byte for byte before and after.
 */
import { toBase64url } from '@bkv/protocol';
import { localSigningKey } from '@bkv/vault';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import { call, randomElement, type Answer } from './support/http';
import { snapshot } from './support/sqlite';
import { startTestVault, TEST_KDF, type TestVault } from './support/test-vault';

let t: TestVault;
let token: string;
let enrollmentId: string;
let recoveryId: string;
const USER = 'victim';

const b64 = (length: number, fill = 7) => toBase64url(new Uint8Array(length).fill(fill));
/** 0x02 || x where x = p (the field prime) is not a valid coordinate. */
const OFF_CURVE = toBase64url(
  Uint8Array.from(
    Buffer.from('02' + 'ff'.repeat(4) + '00000001' + '00'.repeat(12) + 'ff'.repeat(12), 'hex'),
  ),
);

beforeAll(async () => {
  t = await startTestVault();
  token = await t.tokenFor(USER);
  await (await t.clientFor(USER)).enroll('victim passphrase');

  // Pending work that a bad request must not disturb either.
  const enrollment = await call(t.url, 'POST', '/v1/enrollments', {
    token,
    json: { kdf: TEST_KDF, salt: b64(16), blindedElement: randomElement() },
  });
  enrollmentId = enrollment.body.enrollmentId;
  const recovery = await call(t.url, 'POST', '/v1/recoveries', {
    token,
    json: { version: 1, blindedElement: randomElement() },
  });
  recoveryId = recovery.body.recoveryId;
});

afterAll(async () => {
  await t.close();
});

type Case = [name: string, status: number, code: string, send: () => Promise<Answer>];

const start = (json: unknown) => () => call(t.url, 'POST', '/v1/recoveries', { token, json });
const enroll = (json: unknown) => () => call(t.url, 'POST', '/v1/enrollments', { token, json });
const finish =
  (json: unknown, id = () => recoveryId) =>
  () =>
    call(t.url, 'POST', `/v1/recoveries/${id()}/finish`, { token, json });
const commit =
  (json: unknown, id = () => enrollmentId) =>
  () =>
    call(t.url, 'POST', `/v1/enrollments/${id()}/commit`, { token, json });
const withToken = (bearer: () => Promise<string> | string) => async () =>
  call(t.url, 'POST', '/v1/recoveries', {
    token: await bearer(),
    json: { version: 1, blindedElement: randomElement() },
  });

const cases: Case[] = [
  [
    'malformed JSON',
    400,
    'INVALID_REQUEST',
    () => call(t.url, 'POST', '/v1/recoveries', { token, raw: '{"version": 1,' }),
  ],
  ['a JSON array', 400, 'INVALID_REQUEST', start([1, 2])],
  [
    'a body that does not decompress',
    400,
    'INVALID_REQUEST',
    async () => {
      const response = await fetch(`${t.url}/v1/recoveries`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: 'not gzip at all',
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
  ],
  [
    'a body that is not JSON',
    400,
    'INVALID_REQUEST',
    () =>
      call(t.url, 'POST', '/v1/recoveries', { token, raw: 'version=1', contentType: 'text/plain' }),
  ],
  [
    'a version as a string',
    400,
    'INVALID_REQUEST',
    start({ version: '1', blindedElement: randomElement() }),
  ],
  [
    'a version of zero',
    400,
    'INVALID_REQUEST',
    start({ version: 0, blindedElement: randomElement() }),
  ],
  [
    'a fractional version',
    400,
    'INVALID_REQUEST',
    start({ version: 1.5, blindedElement: randomElement() }),
  ],
  [
    'a version past 32 bits',
    400,
    'INVALID_REQUEST',
    start({ version: 2 ** 31, blindedElement: randomElement() }),
  ],
  ['a missing element', 400, 'INVALID_REQUEST', start({ version: 1 })],
  [
    'an element of 32 bytes',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: b64(32) }),
  ],
  [
    'an element of 65 bytes',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: b64(65, 4) }),
  ],
  [
    'an element off the curve',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: OFF_CURVE }),
  ],
  [
    'the identity (all zero)',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: b64(33, 0) }),
  ],
  [
    'an element in padded base64',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: randomElement() + '=' }),
  ],
  [
    'an element in standard base64',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: '+' + randomElement().slice(1) }),
  ],
  [
    'an unknown field',
    400,
    'INVALID_REQUEST',
    start({ version: 1, blindedElement: randomElement(), extra: 1 }),
  ],
  [
    // A valid request but for its size: without the limit it would start a recovery.
    'an oversized body',
    400,
    'INVALID_REQUEST',
    () =>
      call(t.url, 'POST', '/v1/recoveries', {
        token,
        raw: JSON.stringify({ version: 1, blindedElement: randomElement() }) + ' '.repeat(10_000),
      }),
  ],
  ['an unlock tag of 31 bytes', 400, 'INVALID_REQUEST', finish({ unlockTag: b64(31) })],
  [
    'an unlock tag with an unknown field',
    400,
    'INVALID_REQUEST',
    finish({ unlockTag: b64(32), more: true }),
  ],
  [
    'a sealed key of 59 bytes',
    400,
    'INVALID_REQUEST',
    commit({ unlockTag: b64(32), sealedKey: b64(59) }),
  ],
  [
    'a weak KDF',
    400,
    'WEAK_KDF',
    enroll({ kdf: { ...TEST_KDF, memoryKiB: 8 }, salt: b64(16), blindedElement: randomElement() }),
  ],
  [
    'an unknown KDF',
    400,
    'INVALID_REQUEST',
    enroll({ kdf: { ...TEST_KDF, alg: 'scrypt' }, salt: b64(16), blindedElement: randomElement() }),
  ],
  [
    'a salt of 8 bytes',
    400,
    'INVALID_REQUEST',
    enroll({ kdf: TEST_KDF, salt: b64(8), blindedElement: randomElement() }),
  ],
  [
    'a guess limit above the maximum',
    400,
    'INVALID_REQUEST',
    enroll({ kdf: TEST_KDF, salt: b64(16), blindedElement: randomElement(), guessLimit: 21 }),
  ],
  [
    'a guess limit of zero',
    400,
    'INVALID_REQUEST',
    enroll({ kdf: TEST_KDF, salt: b64(16), blindedElement: randomElement(), guessLimit: 0 }),
  ],
  ['no token', 401, 'UNAUTHENTICATED', withToken(() => '')],
  ['a garbage token', 401, 'UNAUTHENTICATED', withToken(() => 'not.a.jwt')],
  ['an expired token', 401, 'UNAUTHENTICATED', withToken(expiredToken)],
  ['a token signed by another key', 401, 'UNAUTHENTICATED', withToken(foreignToken)],
  [
    "another user's recovery",
    404,
    'RECOVERY_NOT_FOUND',
    async () =>
      call(t.url, 'POST', `/v1/recoveries/${recoveryId}/finish`, {
        token: await t.tokenFor('intruder'),
        json: { unlockTag: b64(32) },
      }),
  ],
  [
    "another user's enrollment",
    404,
    'ENROLLMENT_NOT_FOUND',
    async () =>
      call(t.url, 'POST', `/v1/enrollments/${enrollmentId}/commit`, {
        token: await t.tokenFor('intruder'),
        json: { unlockTag: b64(32), sealedKey: b64(60) },
      }),
  ],
  [
    'an unknown recovery id',
    404,
    'RECOVERY_NOT_FOUND',
    finish({ unlockTag: b64(32) }, () => b64(16, 1)),
  ],
  ['a malformed recovery id', 404, 'RECOVERY_NOT_FOUND', finish({ unlockTag: b64(32) }, () => 'x')],
  ['an unknown path', 404, 'NOT_FOUND', () => call(t.url, 'GET', '/v1/records', { token })],
];

describe('bad input', () => {
  it.each(cases)('refuses %s with %i %s and changes nothing', async (_name, status, code, send) => {
    const before = snapshot(t.dataDir, USER);
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
    expect(typeof answer.body.error.message).toBe('string');
    expect(snapshot(t.dataDir, USER)).toEqual(before);
  });

  it('ran every case against a record that still works', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    await expect((await t.clientFor(USER)).recover('victim passphrase')).resolves.toMatchObject({
      version: 1,
    });
  });
});

/** A token from the right key, expired an hour ago. */
async function expiredToken(): Promise<string> {
  const { privateJwk } = await localSigningKey(t.dataDir);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid })
    .setSubject(USER)
    .setIssuer('bkv-local')
    .setAudience('bkv-local')
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(await importJWK(privateJwk, 'ES256'));
}

async function foreignToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'local-1' })
    .setSubject(USER)
    .setIssuer('bkv-local')
    .setAudience('bkv-local')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}
