/**
 * Maps better-sqlite3 failures to the project's codes. A database that is busy past the
 * busy timeout, unreadable, full or closed is unavailable (503, retry may help); anything
 * else is a bug or a corrupt row (500). The driver's error stays as `cause` for the log.
 */
import { BkvError } from '@bkv/protocol';

/** SQLite result codes (their primary part) that mean "the database cannot serve now". */
const UNAVAILABLE = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
  'SQLITE_NOTADB',
]);

export function sqliteError(err: unknown): BkvError {
  if (err instanceof BkvError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const primary = typeof code === 'string' ? code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1') : '';
  // better-sqlite3 reports a closed handle and a missing folder as TypeErrors without a code.
  const unusable =
    err instanceof TypeError && /connection is not open|Cannot open database/.test(err.message);
  if (UNAVAILABLE.has(primary) || unusable) {
    return new BkvError('STORE_UNAVAILABLE', 'The SQLite database is unavailable', {}, err);
  }
  return new BkvError('INTERNAL', 'SQLite store failure', {}, err);
}
