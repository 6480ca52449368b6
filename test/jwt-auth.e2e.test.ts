/**
 * JWT mode: tokens from an identity provider, checked against a JWKS file for issuer,
 * audience, algorithm, expiry and subject.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { call } from './support/http';
import { startTestVault, type TestVault } from './support/test-vault';

const ISSUER = 'https://id.example.org';
const AUDIENCE = 'bkv-test';
let t: TestVault;
let key: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' };
  const jwksFile = path.join(mkdtempSync(path.join(tmpdir(), 'bkv-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  t = await startTestVault({
    auth: { mode: 'jwt', issuer: ISSUER, audience: AUDIENCE, jwksFile, algorithms: ['ES256'] },
  });
});

afterAll(async () => {
  await t.close();
});

interface Claims {
  sub?: string;
  iss?: string;
  aud?: string;
  exp?: string | number;
  alg?: string;
}

async function token(claims: Claims = {}, signWith: CryptoKey | Uint8Array = key) {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: claims.alg ?? 'ES256', kid: 'idp-1' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m');
  if (claims.sub !== '') jwt.setSubject(claims.sub ?? 'jwt-user');
  return jwt.sign(signWith);
}

const record = async (bearer: string) =>
  (await call(t.url, 'GET', '/v1/record', { token: bearer })).body.error.code as string;

it('accepts a token from the provider and takes sub as the user', async () => {
  expect(await record(await token())).toBe('NO_RECORD');
});

it.each([
  ['another issuer', { iss: 'https://evil.example.org' }],
  ['another audience', { aud: 'someone-else' }],
  ['an expired token', { exp: Math.floor(Date.now() / 1000) - 60 }],
  ['no subject', { sub: '' }],
])('refuses %s', async (_why, claims: Claims) => {
  expect(await record(await token(claims))).toBe('UNAUTHENTICATED');
});

it('refuses an algorithm outside the allow-list', async () => {
  const hs = await token({ alg: 'HS256' }, new Uint8Array(32).fill(1));
  expect(await record(hs)).toBe('UNAUTHENTICATED');
});

it('refuses local-mode tokens', async () => {
  expect(await record(await t.tokenFor('jwt-user'))).toBe('UNAUTHENTICATED');
});
