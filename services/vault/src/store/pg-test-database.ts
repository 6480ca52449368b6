/**
 * Throwaway PostgreSQL databases for tests: each test file creates its own (random name)
 * through `BKV_TEST_DATABASE_URL` and drops it afterwards, so files run in parallel against
 * one server without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server to create test databases on; undefined when the tests must skip. */
export const TEST_DATABASE_URL = process.env.BKV_TEST_DATABASE_URL || undefined;

/** In CI the database is required: its absence fails the run instead of skipping. */
export const DATABASE_REQUIRED = process.env.BKV_TEST_REQUIRE_DATABASE === '1';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `bkv_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin(serverUrl, (a) => a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withAdmin(url: string, work: (admin: Client) => Promise<unknown>): Promise<void> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}
