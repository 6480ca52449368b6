/**
 * A throwaway PostgreSQL database for the benchmark's vault, on the server that
 * `BKV_TEST_DATABASE_URL` names (else the local one these machines run). Undefined when no
 * server answers, so the benchmark can say it left the figure out.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

const SERVER_URL =
  process.env.BKV_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createBenchDatabase(): Promise<BenchDatabase | undefined> {
  const name = `bkv_bench_${randomBytes(6).toString('hex')}`;
  try {
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
  } catch {
    return undefined;
  }
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function admin(work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
