/**
 * What an operator relies on: health and readiness, metrics, request ids, and a shutdown that
 * finishes the requests in flight.
 */
import { call, randomElement } from './support/http';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;

beforeAll(async () => {
  t = await startTestVault();
});

afterAll(async () => {
  await t.close();
});

it('answers health and readiness', async () => {
  expect(await call(t.url, 'GET', '/healthz')).toMatchObject({ status: 200 });
  expect(await call(t.url, 'GET', '/readyz')).toMatchObject({
    status: 200,
    body: { status: 'ready' },
  });
});

it('counts requests by route and code, guesses consumed and records destroyed', async () => {
  const client = await t.clientFor('metric-user');
  await client.enroll('right', undefined, { guessLimit: 2 });
  await client.recover('wrong').catch(() => undefined);
  await client.recover('wrong again').catch(() => undefined);

  const metrics = (await call(t.url, 'GET', '/metrics')).body as string;
  expect(metrics).toMatch(/^bkv_guesses_consumed_total 2$/m);
  expect(metrics).toMatch(/^bkv_records_destroyed_total 1$/m);
  expect(metrics).toMatch(
    /^bkv_requests_total\{route="\/v1\/recoveries\/:id\/finish",code="WRONG_PASSPHRASE"\} 1$/m,
  );
  expect(metrics).toMatch(
    /^bkv_hsm_duration_seconds_count\{op="evaluateOprf",outcome="ok"\} \d+$/m,
  );
});

it('tells caches to keep nothing of the API, its errors included', async () => {
  const realm = await fetch(`${t.url}/v1/realm`);
  expect(realm.headers.get('cache-control')).toBe('no-store');
  expect(realm.headers.get('etag')).toBeNull();
  const json = { 'content-type': 'application/json' };
  const errors = [
    await fetch(`${t.url}/v1/recoveries`, { method: 'POST', headers: json, body: '{"a":' }),
    await fetch(`${t.url}/v1/record`),
    await fetch(`${t.url}/v1/nowhere`),
  ];
  expect(errors.map((r) => [r.status, r.headers.get('cache-control')])).toEqual([
    [400, 'no-store'],
    [401, 'no-store'],
    [404, 'no-store'],
  ]);
});

it('answers HEAD and OPTIONS by their HTTP rules and any other unlisted method 404', async () => {
  const head = await fetch(`${t.url}/v1/realm`, { method: 'HEAD' });
  expect([head.status, await head.text()]).toEqual([200, '']);
  const options = await fetch(`${t.url}/v1/realm`, { method: 'OPTIONS' });
  expect(options.status).toBe(200);
  expect(options.headers.get('allow')).toBe('GET, HEAD');
  const other = await fetch(`${t.url}/v1/realm`, { method: 'PUT' });
  expect([other.status, ((await other.json()) as { error: { code: string } }).error.code]).toEqual([
    404,
    'NOT_FOUND',
  ]);
});

it('echoes a sane request id and makes one up otherwise', async () => {
  const given = await fetch(`${t.url}/v1/realm`, { headers: { 'x-request-id': 'trace-42' } });
  expect(given.headers.get('x-request-id')).toBe('trace-42');
  const odd = await fetch(`${t.url}/v1/realm`, { headers: { 'x-request-id': 'bad id\u00e9!' } });
  expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(t.logs.some((line) => line.includes('"reqId":"trace-42"'))).toBe(true);
});

it('finishes requests in flight when it shuts down', async () => {
  const u = await startTestVault();
  const token = await u.tokenFor('shutdown-user');
  await (await u.clientFor('shutdown-user')).enroll('x', undefined, { guessLimit: 20 });

  let received = 0;
  u.vault.server.on('request', () => received++);
  const inFlight = Array.from({ length: 20 }, () =>
    call(u.url, 'POST', '/v1/recoveries', {
      token,
      json: { version: 1, blindedElement: randomElement() },
    }),
  );
  while (received < 20) await new Promise((resolve) => setImmediate(resolve));
  const closed = u.close();

  const answers = await Promise.all(inFlight);
  await closed;
  expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 429)).toEqual([]);
  await expect(fetch(`${u.url}/healthz`)).rejects.toThrow();
});
