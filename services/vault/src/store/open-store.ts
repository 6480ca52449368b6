/**
 * Opens the configured store and brings its schema up to date, so that the caller gets a
 * store that is ready to serve or an error (STORE_UNAVAILABLE when the database cannot be
 * reached; the caller may retry).
 */
import { PgStore } from './pg-store';
import { SqliteStore } from './sqlite-store';
import type { Store } from './store';

export type StoreConfig =
  | { kind: 'sqlite'; path: string; busyTimeoutMs?: number }
  | {
      kind: 'postgres';
      url: string;
      poolSize?: number;
      statementTimeoutMs?: number;
      connectTimeoutMs?: number;
      onIdleError?: (err: Error) => void;
    };

export async function openStore(config: StoreConfig): Promise<Store> {
  const store =
    config.kind === 'sqlite'
      ? new SqliteStore({ path: config.path, busyTimeoutMs: config.busyTimeoutMs })
      : new PgStore(config);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
