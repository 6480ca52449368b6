import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import type { BkvError } from '@bkv/protocol';
import { createAuthenticator, localSigningKey, mintLocalToken } from './auth';
import { loadConfig } from './config';

// The real jose, with its signature check counted.
jest.mock('jose', () => {
  const jose = jest.requireActual<typeof import('jose')>('jose');
  return { ...jose, jwtVerify: jest.fn(jose.jwtVerify) };
});
const verifications = jwtVerify as jest.MockedFunction<typeof jwtVerify>;

/** A local-mode token for `sub`, signed with the data folder's key unless told otherwise. */
async function localToken(dataDir: string, sub: string, key?: CryptoKey): Promise<string> {
  const { privateJwk } = await localSigningKey(dataDir);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid })
    .setSubject(sub)
    .setIssuer('bkv-local')
    .setAudience('bkv-local')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key ?? (await importJWK(privateJwk, 'ES256')));
}

describe('local-mode authentication', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-auth-'));
  const config = loadConfig({ env: {}, overrides: { dataDir } });
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    now = Date.now();
    verifications.mockClear();
  });

  it('takes the subject of a token it minted, as often as it is shown', async () => {
    const authenticate = await createAuthenticator(config);
    const token = await mintLocalToken(dataDir, 'zoe', 60);
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('zoe');
  });

  it("checks a token's signature once a minute, however often it is shown", async () => {
    const authenticate = await createAuthenticator(config, { clock });
    const token = await mintLocalToken(dataDir, 'xavi', 3600);
    await authenticate(`Bearer ${token}`);
    now += 59_000;
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('xavi');
    expect(verifications).toHaveBeenCalledTimes(1);

    now += 1_000;
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('xavi');
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('checks each token on its own', async () => {
    const authenticate = await createAuthenticator(config, { clock });
    await authenticate(`Bearer ${await mintLocalToken(dataDir, 'wren', 3600)}`);
    await expect(
      authenticate(`Bearer ${await mintLocalToken(dataDir, 'vera', 3600)}`),
    ).resolves.toBe('vera');
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('stops accepting a token it accepted once it expires', async () => {
    const authenticate = await createAuthenticator(config, { clock });
    const token = await mintLocalToken(dataDir, 'yann', 30);
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('yann');

    now += 31_000;
    await expect(authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('refuses a token signed by another key every time it is shown', async () => {
    const authenticate = await createAuthenticator(config, { clock });
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await localToken(dataDir, 'mallory', privateKey);
    for (let i = 0; i < 2; i++) {
      await expect(authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
    }
    expect(verifications).toHaveBeenCalledTimes(2);
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
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-auth-'));
  const config = loadConfig({ env: {}, overrides: { dataDir } });

  it('refuses a token without an expiry', async () => {
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

  it('refuses a subject longer than 256 characters every time it is shown', async () => {
    const authenticate = await createAuthenticator(config);
    const token = await localToken(dataDir, 'u'.repeat(257));
    for (let i = 0; i < 2; i++) {
      await expect(authenticate(`Bearer ${token}`)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'the bearer token has no usable subject',
      });
    }
  });
});

describe('keys from a JWKS URL', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-auth-'));
  let server: Server;
  let jwksUrl: string;
  /** What the identity provider's key endpoint answers next. */
  let answer: { status: number; body: string };
  let signer: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    signer = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' };
    answer = { status: 200, body: JSON.stringify({ keys: [jwk] }) };
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const authenticator = () =>
    createAuthenticator(
      loadConfig({
        env: {},
        overrides: {
          dataDir,
          auth: { mode: 'jwt', issuer: 'idp', audience: 'bkv', jwksUrl, algorithms: ['ES256'] },
        },
      }),
    );
  const tokenFrom = (key: CryptoKey) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setSubject('remote-user')
      .setIssuer('idp')
      .setAudience('bkv')
      .setExpirationTime('5m')
      .sign(key);

  it("takes the subject of a token signed with the provider's key", async () => {
    const authenticate = await authenticator();
    await expect(authenticate(`Bearer ${await tokenFrom(signer)}`)).resolves.toBe('remote-user');
  });

  it('refuses a token signed with another key as UNAUTHENTICATED', async () => {
    const authenticate = await authenticator();
    const other = (await generateKeyPair('ES256')).privateKey;
    await expect(authenticate(`Bearer ${await tokenFrom(other)}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('answers a key endpoint that fails with a retryable 5xx, not UNAUTHENTICATED', async () => {
    const authenticate = await authenticator();
    const token = await tokenFrom(signer);
    const saved = answer;
    answer = { status: 503, body: 'down for maintenance' };
    try {
      const refused = await authenticate(`Bearer ${token}`).catch((e: unknown) => e as BkvError);
      expect(refused).toMatchObject({ code: 'INTERNAL', retryable: true });
    } finally {
      answer = saved;
    }
    // The same token passes once the keys can be read again.
    await expect(authenticate(`Bearer ${token}`)).resolves.toBe('remote-user');
  });
});
