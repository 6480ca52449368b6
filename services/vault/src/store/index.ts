/** The vault's storage: the `Store` interface, its two implementations and a factory. */
export type * from './store';
export { openStore, type StoreConfig } from './open-store';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store';
export { PgStore, type PgStoreOptions } from './pg-store';
export { backoffDelayMs } from './backoff';
