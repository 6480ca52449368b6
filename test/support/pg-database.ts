/**
 * PostgreSQL for every test that needs it (the vault's store tests, scenario tests) and for
 * benchmarks: a throwaway database per test file on the server named by
 * `BKV_TEST_DATABASE_URL`, so files run in parallel against one server without seeing each
 * other, and the loud skip when there is none (a failure instead when
 * `BKV_TEST_REQUIRE_DATABASE=1`, as in CI).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server to create test databases on; undefined when the tests must skip. */
export const TEST_DATABASE_URL = process.env.BKV_TEST_DATABASE_URL || undefined;

export interface ScratchDatabase {
  name: string;
  url: string;
  /** Runs one statement on this database (for assertions on rows). */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** Creates `bkv_<random>` on the server and returns its URL; `drop` forces it away. */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `bkv_scn_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    query: async <T>(text: string, values?: unknown[]) => {
      let rows: T[] = [];
      await withClient(url.toString(), async (c) => {
        rows = (await c.query(text, values)).rows as T[];
      });
      return rows;
    },
    drop: () =>
      withClient(serverUrl, (a) => a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withClient(url: string, work: (client: Client) => Promise<unknown>) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/**
 * `describe` when a database server is configured; otherwise a skip that says so on the
 * console, or a failing test when the run requires the database.
 */
export function describeWithDatabase(title: string, body: (serverUrl: string) => void): void {
  if (TEST_DATABASE_URL !== undefined) {
    describe(title, () => body(TEST_DATABASE_URL));
    return;
  }
  if (process.env.BKV_TEST_REQUIRE_DATABASE === '1') {
    it(`${title}: has a database to test against`, () => {
      throw new Error('BKV_TEST_REQUIRE_DATABASE=1 but BKV_TEST_DATABASE_URL is not set');
    });
    return;
  }
  console.warn(
    `\n*** SKIPPED: "${title}" needs BKV_TEST_DATABASE_URL ` +
      '(e.g. postgres://postgres@127.0.0.1:5432/postgres). ***\n',
  );
  it.skip(`${title} (BKV_TEST_DATABASE_URL is not set)`, () => undefined);
}
