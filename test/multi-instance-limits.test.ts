/**
 * Request limits shared through PostgreSQL: two vaults on one database spend one budget per
 * IP and per user, so a second instance does not double what a caller may try.
 */
import { call } from './support/http';
import {
  createScratchDatabase,
  describeWithDatabase,
  type ScratchDatabase,
} from './support/pg-database';
import { startTestVault, type TestVault } from './support/test-vault';

const POINTS = 6;

describeWithDatabase('request limits across instances', (serverUrl) => {
  let database: ScratchDatabase;
  let a: TestVault;
  let b: TestVault;

  beforeAll(async () => {
    database = await createScratchDatabase(serverUrl);
    const settings = {
      store: { kind: 'postgres', url: database.url },
      limits: {
        perIp: { points: POINTS, durationSeconds: 60 },
        perUser: { points: 100, durationSeconds: 60 },
        bodyBytes: 4096,
      },
      log: { level: 'fatal' },
    };
    a = await startTestVault(settings);
    b = await startTestVault(settings);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('spends one per-IP budget across two instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < POINTS; i += 1) {
      statuses.push((await call(i % 2 === 0 ? a.url : b.url, 'GET', '/v1/realm')).status);
    }
    expect(statuses).toEqual(Array(POINTS).fill(200));

    // Each instance alone has spent only half its points, yet both refuse now.
    for (const url of [a.url, b.url]) {
      const refused = await call(url, 'GET', '/v1/realm');
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const [row] = await database.query<{ points: number }>(
      'SELECT points FROM bkv_rate_limits WHERE key = $1',
      ['ip:ip:127.0.0.1'],
    );
    expect(row?.points).toBe(POINTS + 2);
  });

  it('counts a user whose id is longer than the limits table key', async () => {
    // A subject of 250 characters: stored as is, the key would not fit the varchar(255).
    await database.query('DELETE FROM bkv_rate_limits');
    const token = await a.tokenFor('u'.repeat(250));
    const answer = await call(a.url, 'GET', '/v1/record', { token });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('NO_RECORD');
  });
});
