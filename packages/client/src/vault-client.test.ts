/**
 * Unit tests of the requests the client sends and of its handling of answers, through a real
 * node:http server with canned replies. The enrollment and recovery flows stop at the first
 * call that needs the realm's OPRF key: running them to the end takes the vault service.
 */
import {
  BkvError,
  enrollRequest,
  fromBase64url,
  recoveryStartRequest,
  startDerivation,
  toBase64url,
  type Kdf,
} from '@bkv/protocol';
import { randomBytes } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { cannedServer, type CannedServer, type Reply } from './canned-server.testing';
import { generateBackupKey } from './backup-key';
import { VaultClient } from './vault-client';

const small: Kdf = { alg: 'argon2id', memoryKiB: 256, iterations: 1, parallelism: 1 };
const realm = {
  realmId: toBase64url(new Uint8Array(16).fill(9)),
  suite: 'bkv1',
  kdf: { ...small, iterations: 2 },
  kdfMinimum: small,
  guessLimit: { default: 10, max: 100 },
};
const refusal: Reply = { status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'x' } } };
const noRecord: Reply = { status: 404, body: { error: { code: 'NO_RECORD', message: 'none' } } };

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as BkvError).code;
  }
  return undefined;
}

describe('VaultClient', () => {
  let server: CannedServer | undefined;
  afterEach(async () => server?.close());

  async function clientFor(
    replies: Record<string, Reply>,
    kdf?: Partial<Kdf>,
    random?: (n: number) => Uint8Array,
  ) {
    server = await cannedServer({ 'GET /v1/realm': { status: 200, body: realm }, ...replies });
    return new VaultClient({ url: server.url, token: async () => 'tok', kdf, random });
  }

  it('refuses options without a usable URL or token at construction', () => {
    expect(() => new VaultClient({ url: 'vault', token: () => 't' })).toThrow(TypeError);
    expect(() => new VaultClient({ url: 'ftp://vault', token: () => 't' })).toThrow(TypeError);
    const token = 'secret' as unknown as () => string;
    expect(() => new VaultClient({ url: 'https://vault', token })).toThrow(TypeError);
    const kdf = { memoryKiB: -1, iterations: 1.5 };
    expect(() => new VaultClient({ url: 'https://vault', token: () => 't', kdf })).toThrow(
      /memoryKiB.*iterations/,
    );
  });

  it('asks for the realm once and caches it', async () => {
    const client = await clientFor({});
    expect(await client.realm()).toEqual(realm);
    await client.realm();
    expect(server!.received).toHaveLength(1);
  });

  it('enrolls with a request the service schema accepts', async () => {
    const client = await clientFor({ 'POST /v1/enrollments': refusal }, { memoryKiB: 512 });
    expect(await codeOf(client.enroll('correct horse', undefined, { guessLimit: 5 }))).toBe(
      'INVALID_REQUEST',
    );

    const sent = server!.received[1]!;
    expect(sent.headers.authorization).toBe('Bearer tok');
    const request = enrollRequest.parse(sent.body);
    expect(request.kdf).toEqual({ ...realm.kdf, memoryKiB: 512 });
    expect(request.guessLimit).toBe(5);
    expect(request.salt).toHaveLength(16);
  });

  it('uses a fresh salt and blind for each enrollment', async () => {
    const client = await clientFor({ 'POST /v1/enrollments': refusal });
    await codeOf(client.enroll('same words'));
    await codeOf(client.enroll('same words'));
    const [a, b] = server!.received.slice(1).map((r) => enrollRequest.parse(r.body));
    expect(a!.salt).not.toEqual(b!.salt);
    expect(a!.blindedElement).not.toEqual(b!.blindedElement);
  });

  it('refuses to enroll below the realm minimum before calling it', async () => {
    const client = await clientFor({}, { memoryKiB: 128 });
    expect(await codeOf(client.enroll('correct horse'))).toBe('WEAK_KDF');
    expect(server!.received).toHaveLength(1);
  });

  it('refuses an override that leaves Argon2id under 8 KiB a lane, before any work', async () => {
    const client = await clientFor({}, { memoryKiB: 120, parallelism: 16 });
    const refused = await client.enroll('correct horse').catch((e: unknown) => e as BkvError);
    expect(refused).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'kdf' } });
    expect(server!.received).toHaveLength(1);
  });

  it('wipes a key it made when the commit fails, and leaves a given key alone', async () => {
    const point = toBase64url(p256.Point.BASE.multiply(7n).toBytes(true));
    const body = { enrollmentId: 'e', evaluatedElement: point, expiresAt: 'soon' };
    const failing: Reply = { status: 500, body: { error: { code: 'INTERNAL', message: 'x' } } };
    // The key is the 32 bytes drawn once the realm has answered the evaluation.
    const drawn: Uint8Array[] = [];
    const random = (n: number) => {
      const bytes = randomBytes(n);
      if (n === 32 && server!.received.length === 2) drawn.push(bytes);
      return bytes;
    };
    const replies = {
      'POST /v1/enrollments': { status: 201, body },
      'POST /v1/enrollments/e/commit': failing,
    };
    const client = await clientFor(replies, undefined, random);
    expect(await codeOf(client.enroll('correct horse'))).toBe('INTERNAL');
    expect(drawn).toHaveLength(1);
    expect(drawn[0]!.every((byte) => byte === 0)).toBe(true);

    const given = generateBackupKey();
    const copy = Uint8Array.from(given);
    expect(await codeOf(client.enroll('correct horse', given))).toBe('INTERNAL');
    expect(given).toEqual(copy);
  });

  it('refuses a backup key that is not 32 bytes', async () => {
    const client = await clientFor({});
    expect(await codeOf(client.enroll('pw', new Uint8Array(16)))).toBe('INVALID_REQUEST');
  });

  it('reports an evaluated element that is not a point as BAD_RESPONSE', async () => {
    const notAPoint = toBase64url(new Uint8Array(33).fill(0xff));
    const body = { enrollmentId: 'e', evaluatedElement: notAPoint, expiresAt: 'soon' };
    const client = await clientFor({ 'POST /v1/enrollments': { status: 201, body } });
    expect(await codeOf(client.enroll('correct horse'))).toBe('BAD_RESPONSE');
  });

  it('starts a recovery with the record version and its salt', async () => {
    const salt = new Uint8Array(16).fill(3);
    const record = {
      state: 'active',
      version: 7,
      kdf: small,
      salt: toBase64url(salt),
      guessLimit: 10,
      guessesRemaining: 10,
      createdAt: '2026-01-01T00:00:00Z',
    };
    const limited: Reply = {
      status: 429,
      body: { error: { code: 'RATE_LIMITED', message: 'wait' } },
      headers: { 'retry-after': '2' },
    };
    const fixed = (n: number) => new Uint8Array(n).fill(7);
    const replies = {
      'GET /v1/record': { status: 200, body: record },
      'POST /v1/recoveries': limited,
    };
    const client = await clientFor(replies, undefined, fixed);

    const error = await client.recover('correct horse').catch((e: unknown) => e as BkvError);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfter: 2 } });
    const request = recoveryStartRequest.parse(server!.received[2]!.body);
    expect(request.version).toBe(7);
    const expected = await startDerivation('correct horse', salt, small, fixed);
    expect(request.blindedElement).toEqual(expected.blindedElement);
  });

  it('does not start a recovery of a locked record', async () => {
    const locked = { state: 'locked', lockedAt: '2026-01-01T00:00:00Z' };
    const client = await clientFor({ 'GET /v1/record': { status: 200, body: locked } });
    expect(await codeOf(client.recover('pw'))).toBe('LOCKED_OUT');
    expect(server!.received.map((r) => r.path)).toEqual(['/v1/realm', '/v1/record']);
  });

  it('answers null status and false forget when there is no record', async () => {
    const client = await clientFor({ 'GET /v1/record': noRecord, 'DELETE /v1/record': noRecord });
    expect(await client.status()).toBeNull();
    expect(await client.forget()).toBe(false);
    expect(await codeOf(client.recover('pw'))).toBe('NO_RECORD');
  });

  it('answers true when forget deleted a record', async () => {
    const client = await clientFor({ 'DELETE /v1/record': { status: 204 } });
    expect(await client.forget()).toBe(true);
  });
});

describe('generateBackupKey', () => {
  it('returns 32 bytes from the given random source', () => {
    const key = generateBackupKey((n) => new Uint8Array(n).fill(5));
    expect(key).toEqual(new Uint8Array(32).fill(5));
  });

  it('returns a different key each time by default', () => {
    expect(generateBackupKey()).not.toEqual(generateBackupKey());
    expect(fromBase64url(toBase64url(generateBackupKey()))).toHaveLength(32);
  });
});
