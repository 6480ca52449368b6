/**
 * The error body as docs/protocol.md describes it, as jest assertions: one `error` object with
 * an upper-case `code`, a `message` for people, and only the documented optional details.
 */
import type { WireError } from './client';

/** The documented HTTP status of every code that travels in a response. */
export const STATUS_OF: Record<string, number> = {
  INVALID_REQUEST: 400,
  WEAK_KDF: 400,
  UNAUTHENTICATED: 401,
  WRONG_PASSPHRASE: 401,
  NOT_FOUND: 404,
  ENROLLMENT_NOT_FOUND: 404,
  RECOVERY_NOT_FOUND: 404,
  NO_RECORD: 404,
  VERSION_MISMATCH: 409,
  LOCKED_OUT: 410,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  HSM_AUTH_FAILED: 500,
  OVERLOADED: 503,
  STORE_UNAVAILABLE: 503,
  HSM_UNAVAILABLE: 503,
};

const DETAILS = ['guessesRemaining', 'retryAfter', 'field'];

/** Asserts that `answer` is the documented error body for `code`, with the code's status. */
export function expectError(answer: { status: number; body: any } | WireError, code: string) {
  expect(answer.status).toBe(STATUS_OF[code]);
  expect(Object.keys(answer.body as object)).toEqual(['error']);

  const error = (answer.body as { error: Record<string, unknown> }).error;
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  for (const key of Object.keys(error)) expect(['code', 'message', ...DETAILS]).toContain(key);

  if ('guessesRemaining' in error) expect(Number.isInteger(error.guessesRemaining)).toBe(true);
  if ('retryAfter' in error) expect(Number.isInteger(error.retryAfter)).toBe(true);
  if ('field' in error) expect(typeof error.field).toBe('string');
  return error;
}
