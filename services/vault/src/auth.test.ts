import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, importJWK } from 'jose';
import { createAuthenticator, localSigningKey, mintLocalToken } from './auth';
import { loadConfig } from './config';

/** Fake only the clock: sockets and jose's promises keep their real timers. */
const ONLY_DATE: Parameters<typeof jest.useFakeTimers>[0] = {
  doNotFake: [
    'hrtime',
    'nextTick',
    'performance',
    'queueMicrotask',
    'requestAnimationFrame',
    'cancelAnimationFrame',
    'requestIdleCallback',
    'cancelIdleCallback',
    'setImmediate',
    'clearImmediate',
    'setInterval',
    'clearInterval',
    'setTimeout',
    'clearTimeout',
  ],
};

describe('local-mode authentication', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-auth-'));
  const config = loadConfig({ env: {}, overrides: { dataDir } });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('takes the subject of a token it minted, as often as it is shown', async () => {
    const authenticate = await createAuthenticator(config);
    const token = await mintLocalToken(dataDir, 'zoe', 60);
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
  });

  it('stops accepting a token it accepted once it expires', async () => {
    const authenticate = await createAuthenticator(config);
    const token = await mintLocalToken(dataDir, 'yann', 30);
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('yann');

    jest.useFakeTimers({ ...ONLY_DATE, now: Date.now() + 31_000 });
    await expect(authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bare token', 'eyJhbGciOiJFUzI1NiJ9.e30.sig'],
  ])('refuses %s', async (_why, header) => {
    const authenticate = await createAuthenticator(config);
    await expect(authenticate(header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('JWT claims', () => {
  it('refuses a token without an expiry', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-auth-'));
    const config = loadConfig({ env: {}, overrides: { dataDir } });
    const authenticate = await createAuthenticator(config);
    const { privateJwk } = await localSigningKey(dataDir);
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid })
      .setSubject('forever')
      .setIssuer('bkv-local')
      .setAudience('bkv-local')
      .setIssuedAt()
      .sign(await importJWK(privateJwk, 'ES256'));
    await expect(authenticate(`Bearer ${forever}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});
