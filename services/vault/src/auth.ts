/**
 * Bearer-token authentication. The vault authenticates the account (the token's `sub` is the
 * user id); the passphrase protects the key. Two modes: JWTs from an identity provider
 * (issuer, audience, JWKS file or URL, algorithms allow-list), or a local mode for one machine
 * in which `bkv token` mints ES256 tokens from a key kept in the data folder.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BkvError } from '@bkv/protocol';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { VaultConfig } from './config';
import { cachedVerifier, type TokenVerifier } from './token-cache';

export const LOCAL_ISSUER = 'bkv-local';
export const LOCAL_AUDIENCE = 'bkv-local';
const LOCAL_ALG = 'ES256';
const MAX_USER_ID = 256;

/** Returns the user id of a bearer token, or throws UNAUTHENTICATED. */
export type Authenticator = (authorization: string | undefined) => Promise<string>;

export interface AuthenticatorOptions {
  /** Milliseconds since the epoch, for token expiry and the verified-token cache. */
  clock?: () => number;
}

/**
 * Makes the vault's authenticator. A token's signature and claims are checked in full when it
 * is first shown and then at most once a minute (never past its `exp`), since a recovery shows
 * the same token twice; see `cachedVerifier`.
 */
export async function createAuthenticator(
  config: VaultConfig,
  { clock = Date.now }: AuthenticatorOptions = {},
): Promise<Authenticator> {
  const auth = config.auth;
  let keys: JWTVerifyGetKey;
  let options: { issuer: string; audience: string; algorithms: string[] };
  // A token that never expires is refused: an account token must not outlive its session.
  const requiredClaims = ['exp', 'sub'];
  if (auth.mode === 'local') {
    const { publicJwk } = await localSigningKey(config.dataDir);
    keys = createLocalJWKSet({ keys: [publicJwk] });
    options = { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, algorithms: [LOCAL_ALG] };
  } else {
    keys = auth.jwksFile
      ? createLocalJWKSet(JSON.parse(readFileSync(auth.jwksFile, 'utf8')) as { keys: JWK[] })
      : createRemoteJWKSet(new URL(auth.jwksUrl!));
    options = { issuer: auth.issuer, audience: auth.audience, algorithms: auth.algorithms };
  }

  // The full check: signature, issuer, audience, algorithm, expiry, then a usable subject.
  const verifyJwt: TokenVerifier = async (token) => {
    let payload: JWTPayload;
    try {
      const currentDate = new Date(clock());
      ({ payload } = await jwtVerify(token, keys, { ...options, requiredClaims, currentDate }));
    } catch (err) {
      // A JWKS that cannot be fetched says nothing about the token: retryable, and the
      // operator's to see (a 5xx is logged as an error), not the user's to log in again.
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !TOKEN_FAULTS.has(code)) {
        throw new BkvError('INTERNAL', 'the token keys could not be read', {}, err);
      }
      throw new BkvError('UNAUTHENTICATED', 'the bearer token is not valid', {}, err);
    }
    // requiredClaims made jose check that `exp` is there and is a number.
    const { sub, exp } = payload as JWTPayload & { exp: number };
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_USER_ID) {
      throw new BkvError('UNAUTHENTICATED', 'the bearer token has no usable subject');
    }
    return { sub, exp };
  };
  const verify = cachedVerifier(verifyJwt, { clock });

  return async (authorization) => {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization ?? '')?.[1];
    if (!token) throw new BkvError('UNAUTHENTICATED', 'a bearer token is required');
    return verify(token);
  };
}

/** jose's codes for a token at fault, as against keys that could not be had. */
const TOKEN_FAULTS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWE_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

const KEY_FILE = 'local-auth-key.json';

/** The local mode's signing key, made on first use with mode 0600 under the data folder. */
export async function localSigningKey(
  dataDir: string,
): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const file = path.join(dataDir, KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(LOCAL_ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: LOCAL_ALG, kid: 'local-1' };
    try {
      writeFileSync(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  const { d: _secret, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

/** Mints a local-mode token for `user` (the `bkv token` command). */
export async function mintLocalToken(
  dataDir: string,
  user: string,
  ttlSeconds = 3600,
): Promise<string> {
  const { privateJwk } = await localSigningKey(dataDir);
  const key = await importJWK(privateJwk, LOCAL_ALG);
  return new SignJWT({})
    .setProtectedHeader({ alg: LOCAL_ALG, kid: privateJwk.kid })
    .setSubject(user)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}
