/**
 * Maps pg failures to the project's codes. A server that cannot be reached, shuts down,
 * refuses more connections or runs past the statement timeout is unavailable (503, retry may
 * help); a SQL error is a bug (500). The pg error stays as `cause` for the server log.
 */
import { BkvError } from '@bkv/protocol';

/**
 * SQLSTATE classes that mean "not now": 08 connection exception, 53 insufficient resources,
 * 57 operator intervention (admin shutdown 57P01, statement timeout 57014), 58 system error,
 * 40 transaction rollback (serialisation failure, deadlock).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', '40']);

/** pg's own errors that carry no SQLSTATE: a socket that failed, a pool that gave up. */
const CLIENT_FAILURE = new RegExp(
  [
    'Connection terminated',
    'timeout exceeded',
    'connection timeout',
    'not queryable',
    'Cannot use a pool',
    'Client was closed',
    'Query read timeout',
  ].join('|'),
  'i',
);

export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return UNAVAILABLE_CLASSES.has(code.slice(0, 2));
  }
  // Node's socket errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND, ...
  if (typeof code === 'string' && code.startsWith('E')) return true;
  return err instanceof Error && CLIENT_FAILURE.test(err.message);
}

export function pgError(err: unknown): BkvError {
  if (err instanceof BkvError) return err;
  if (isUnavailable(err)) {
    return new BkvError('STORE_UNAVAILABLE', 'The PostgreSQL database is unavailable', {}, err);
  }
  return new BkvError('INTERNAL', 'PostgreSQL store failure', {}, err);
}
