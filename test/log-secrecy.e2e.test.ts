/**
 * No secret reaches the logs: every line of a full enroll / recover / lockout run is captured
 * at debug level and searched for each secret that crossed the service, and for the record's
 * sealed payload and wrapped OPRF key, which never leave it, in every encoding the code could
 * plausibly have printed them in.
 */
import { fromBase64url, toBase64url } from '@bkv/protocol';
import { call, randomElement } from './support/http';
import { snapshot } from './support/sqlite';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;

beforeAll(async () => {
  t = await startTestVault();
});

afterAll(async () => {
  await t.close();
});

/** Records every request and response body that crosses the wire, to learn the secrets. */
function recordingFetch(seen: string[]): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const auth = headers.get('authorization');
    if (auth) seen.push(auth.replace(/^Bearer /, ''));
    if (typeof init?.body === 'string') collect(JSON.parse(init.body), seen);
    const response = await fetch(input, init);
    const text = await response.clone().text();
    if (text) collect(JSON.parse(text), seen);
    return response;
  };
}

const SECRET_FIELDS = ['blindedElement', 'evaluatedElement', 'unlockTag', 'sealedKey'];

function collect(body: unknown, seen: string[]): void {
  if (typeof body !== 'object' || body === null) return;
  for (const [key, value] of Object.entries(body)) {
    if (SECRET_FIELDS.includes(key) && typeof value === 'string') seen.push(value);
    if (typeof value === 'object') collect(value, seen);
  }
}

/** The forms a byte string could take in a log line. */
function encodings(value: string): string[] {
  const bytes = fromBase64url(value);
  if (!bytes) return [value];
  const buffer = Buffer.from(bytes);
  return [value, buffer.toString('hex'), buffer.toString('base64'), JSON.stringify([...bytes])];
}

describe('logs', () => {
  it('hold no passphrase, key, tag, sealed key or blob, wrapped key, element, token', async () => {
    const seen: string[] = [];
    const { VaultClient } = await import('@bkv/client');
    const bearer = await t.tokenFor('logged-user');
    const client = new VaultClient({
      url: t.url,
      token: () => bearer,
      fetch: recordingFetch(seen),
      kdf: { memoryKiB: 256, iterations: 1, parallelism: 1 },
    });
    const passphrase = 'a very particular passphrase 8413';

    const enrolled = await client.enroll(passphrase);
    // Read before the lockout deletes them.
    const row = snapshot(t.dataDir, 'logged-user').record!;
    const atRest = [row.sealed, row.wrapped_oprf_key].map((blob) => {
      expect(blob).toBeInstanceOf(Buffer);
      return toBase64url(blob as Buffer);
    });
    await client.recover(passphrase);
    for (let i = 0; i < 10; i++) {
      await client.recover(`wrong guess number ${i}`).catch(() => undefined);
      t.advance(3_600_000);
    }
    // A bad request too, whose body the error path might be tempted to echo.
    const bad = randomElement();
    await call(t.url, 'POST', '/v1/recoveries', {
      token: bearer,
      json: { version: 1, blindedElement: bad, junk: 'x' },
    });
    seen.push(bad);

    const secrets = [
      passphrase,
      ...encodings(toBase64url(enrolled.key)),
      ...atRest.flatMap(encodings),
      ...seen.flatMap((value) => (value.includes('.') ? [value] : encodings(value))),
    ];
    expect(seen.length).toBeGreaterThan(40);
    expect(t.logs.length).toBeGreaterThan(30);
    const log = t.logs.join('\n');
    const leaked = secrets.filter((secret) => secret.length >= 16 && log.includes(secret));
    expect(leaked).toEqual([]);
    // The token's signature part alone is secret enough to look for.
    expect(log).not.toContain(bearer.split('.')[2]!);
    expect(log).toContain('"code":"WRONG_PASSPHRASE"');
    expect(log).toContain('"code":"LOCKED_OUT"');
  });
});
