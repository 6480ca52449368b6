import { BackupError, RecoveryKeyError } from '@bkv/client';
import { BkvError, type ErrorCode } from '@bkv/protocol';
import { EXIT } from './command';
import { backupExit, INVALID_KEY_EXIT } from './commands/key';
import { UsageError } from './passphrase';

/** A sentence for people, per error code; `details` fill in the numbers. */
const MESSAGES: Record<ErrorCode, (e: BkvError) => string> = {
  INVALID_REQUEST: (e) => `the vault refused the request: ${e.message}`,
  WEAK_KDF: () => 'the vault asks for stronger passphrase stretching than this client used',
  UNAUTHENTICATED: () => 'the vault did not accept your token; get a new one',
  WRONG_PASSPHRASE: (e) => {
    const left = e.details.guessesRemaining ?? 0;
    if (left === 0) return 'wrong passphrase: no guesses left; one more wrong try destroys it';
    return `wrong passphrase: ${left} ${left === 1 ? 'guess' : 'guesses'} left`;
  },
  NOT_FOUND: () => 'the vault does not know that address; check --vault',
  ENROLLMENT_NOT_FOUND: () => 'the enrollment expired or was already used; run enroll again',
  RECOVERY_NOT_FOUND: () => 'the recovery expired or was already finished; try again',
  NO_RECORD: () => 'there is no backup key escrowed for this account',
  VERSION_MISMATCH: () => 'the escrowed key changed while recovering; try again',
  LOCKED_OUT: () =>
    'this backup key was destroyed after too many wrong passphrases; it cannot be recovered',
  RATE_LIMITED: (e) => `too many attempts; wait ${e.details.retryAfter ?? 'a few'} seconds`,
  INTERNAL: () => 'the vault had an internal error; try again later',
  OVERLOADED: () => 'the vault is busy; try again in a moment',
  STORE_UNAVAILABLE: () => 'the vault cannot reach its database; try again later',
  HSM_UNAVAILABLE: () => 'the vault cannot reach its HSM; try again later',
  HSM_BAD_INPUT: (e) => `the HSM refused an input: ${e.message}`,
  // Wrong PIN, no realm, a module without a mechanism: the cause is the operator's to read.
  HSM_AUTH_FAILED: (e) => `the vault's HSM needs its operator: ${e.message}`,
  NETWORK: (e) => `cannot reach the vault: ${e.message}`,
  BAD_RESPONSE: (e) => `the vault answered something this client cannot use: ${e.message}`,
  SEALED_KEY_INVALID: () =>
    'the escrowed key does not open with this passphrase; the record may be damaged',
};

/** Exit codes per error code, so scripts can tell outcomes apart. */
const EXITS: Partial<Record<ErrorCode, number>> = {
  WRONG_PASSPHRASE: 10,
  LOCKED_OUT: 11,
  NO_RECORD: 12,
  RATE_LIMITED: 13,
  UNAUTHENTICATED: 14,
  NETWORK: 15,
};

/** What node:util's parseArgs throws for a command line it cannot take: all usage errors. */
const PARSE_ARGS_ERRORS = [
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
];

export function describeError(err: unknown): { message: string; exit: number } {
  if (err instanceof BkvError) {
    return { message: MESSAGES[err.code](err), exit: EXITS[err.code] ?? EXIT.failure };
  }
  if (err instanceof UsageError) return { message: err.message, exit: EXIT.usage };
  if (err instanceof RecoveryKeyError) {
    return { message: `not a valid 64-digit key: ${err.message}`, exit: INVALID_KEY_EXIT };
  }
  if (err instanceof BackupError) return { message: err.message, exit: backupExit(err) };
  // By shape, not `instanceof`: node's own errors may come from another realm (a test runner).
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && PARSE_ARGS_ERRORS.includes(code)) {
    return { message: (err as Error).message, exit: EXIT.usage };
  }
  return { message: err instanceof Error ? err.message : String(err), exit: EXIT.failure };
}
