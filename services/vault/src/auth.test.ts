import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAuthenticator, mintLocalToken } from './auth';
import { loadConfig } from './config';

/** Fake only the clock: the vault's sockets and jose's promises keep their real timers. */
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

  it('takes the subject of a token it minted, and again from its cache', async () => {
    const authenticate = await createAuthenticator(config);
    const token = await mintLocalToken(dataDir, 'zoe', 60);
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
  });

  it('stops accepting a cached token once it expires', async () => {
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
