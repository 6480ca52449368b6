/**
 * Unit tests of the transport's reading of answers, through a real node:http server that
 * replies with canned bodies. They do not exercise the vault service.
 */
import { BkvError, recordResponse, realmResponse } from '@bkv/protocol';
import { cannedServer, type CannedServer } from './canned-server.testing';
import { VaultHttp } from './http';

const RECORD = { method: 'GET', path: '/v1/record', authenticated: true } as const;

async function failure(promise: Promise<unknown>): Promise<BkvError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BkvError) return error;
    throw error;
  }
  throw new Error('expected a BkvError');
}

describe('VaultHttp', () => {
  let server: CannedServer | undefined;
  afterEach(async () => server?.close());

  async function httpFor(reply: Parameters<typeof cannedServer>[0][string]) {
    server = await cannedServer({ 'GET /v1/record': reply, 'GET /v1/realm': reply });
    return new VaultHttp(`${server.url}/`, () => 'token-1', fetch);
  }

  it('sends the bearer token on authenticated calls only', async () => {
    const http = await httpFor({
      status: 404,
      body: { error: { code: 'NO_RECORD', message: 'x' } },
    });
    await failure(http.send(RECORD, recordResponse));
    await failure(
      http.send({ method: 'GET', path: '/v1/realm', authenticated: false }, realmResponse),
    );
    expect(server!.received.map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1',
      undefined,
    ]);
  });

  it('reads a wrong passphrase with the guesses that remain', async () => {
    const body = { error: { code: 'WRONG_PASSPHRASE', message: 'no', guessesRemaining: 4 } };
    const error = await failure(
      (await httpFor({ status: 401, body })).send(RECORD, recordResponse),
    );
    expect(error.code).toBe('WRONG_PASSPHRASE');
    expect(error.details).toEqual({ guessesRemaining: 4 });
  });

  it('takes retryAfter from the Retry-After header when the body has none', async () => {
    const body = { error: { code: 'RATE_LIMITED', message: 'wait' } };
    const http = await httpFor({ status: 429, body, headers: { 'retry-after': '8' } });
    const error = await failure(http.send(RECORD, recordResponse));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.details.retryAfter).toBe(8);
    expect(error.retryable).toBe(true);
  });

  it('prefers the retryAfter of the body over the header', async () => {
    const body = { error: { code: 'RATE_LIMITED', message: 'wait', retryAfter: 16 } };
    const http = await httpFor({ status: 429, body, headers: { 'retry-after': '8' } });
    expect((await failure(http.send(RECORD, recordResponse))).details.retryAfter).toBe(16);
  });

  it('falls back on the status for a body that is not ours', async () => {
    const http = await httpFor({ status: 502, text: '<html>Bad Gateway</html>' });
    const error = await failure(http.send(RECORD, recordResponse));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe('the vault answered HTTP 502');
  });

  it('falls back on the status for a code this client does not know', async () => {
    const body = { error: { code: 'SOMETHING_NEW', message: 'later server' } };
    const error = await failure(
      (await httpFor({ status: 400, body })).send(RECORD, recordResponse),
    );
    expect(error.code).toBe('INVALID_REQUEST');
  });

  it.each([
    [409, 'VERSION_MISMATCH'],
    [410, 'LOCKED_OUT'],
    [404, 'NOT_FOUND'],
  ])('takes an unknown code on %i as that status means', async (status, code) => {
    const body = { error: { code: 'SOMETHING_NEW', message: 'later server' } };
    const error = await failure((await httpFor({ status, body })).send(RECORD, recordResponse));
    expect(error.code).toBe(code);
  });

  it('does not take a retryAfter that is not whole seconds from the body', async () => {
    const body = { error: { code: 'RATE_LIMITED', message: 'wait', retryAfter: 1.5 } };
    const http = await httpFor({ status: 429, body, headers: { 'retry-after': '2' } });
    expect((await failure(http.send(RECORD, recordResponse))).details.retryAfter).toBe(2);
  });

  it('reports a realm whose Argon2id has less than 8 KiB a lane as BAD_RESPONSE', async () => {
    const kdf = { alg: 'argon2id', memoryKiB: 8, iterations: 1, parallelism: 2 };
    const body = {
      realmId: 'CQkJCQkJCQkJCQkJCQkJCQ',
      suite: 'bkv1',
      kdf,
      kdfMinimum: { ...kdf, parallelism: 1 },
      guessLimit: { default: 10, max: 100 },
    };
    const http = await httpFor({ status: 200, body });
    const realm = { method: 'GET', path: '/v1/realm', authenticated: false } as const;
    expect((await failure(http.send(realm, realmResponse))).code).toBe('BAD_RESPONSE');
    body.kdf = { ...kdf, memoryKiB: 16 };
    await expect(http.send(realm, realmResponse)).resolves.toMatchObject({ kdf: body.kdf });
  });

  it('reports a success body of the wrong shape as BAD_RESPONSE', async () => {
    const http = await httpFor({ status: 200, body: { state: 'active', version: 'one' } });
    expect((await failure(http.send(RECORD, recordResponse))).code).toBe('BAD_RESPONSE');
  });

  it('reports a success body that is not JSON as BAD_RESPONSE', async () => {
    const http = await httpFor({ status: 200, text: 'ok' });
    expect((await failure(http.send(RECORD, recordResponse))).code).toBe('BAD_RESPONSE');
  });

  it('reports a refused connection as NETWORK', async () => {
    const closed = await cannedServer({});
    await closed.close();
    const http = new VaultHttp(closed.url, () => 't', fetch);
    expect((await failure(http.send(RECORD, recordResponse))).code).toBe('NETWORK');
  });

  it('returns the parsed body of a success', async () => {
    const record = { state: 'locked', lockedAt: '2026-01-01T00:00:00Z' };
    const http = await httpFor({ status: 200, body: record });
    expect(await http.send(RECORD, recordResponse)).toEqual(record);
  });
});
