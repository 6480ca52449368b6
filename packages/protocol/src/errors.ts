/**
 * The project's one error type. Every failure that crosses a boundary (HTTP, the client SDK,
 * the CLI) carries a stable upper-case `code` from {@link ERROR_CODES}. A code never changes
 * meaning once shipped; add new codes instead.
 */

/** What a caller should know about each code: its HTTP status and whether a retry can help. */
export interface ErrorCodeInfo {
  readonly status: number;
  readonly retryable: boolean;
  /** What the caller should do, in a sentence; shown to developers, not end users. */
  readonly advice: string;
}

export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, retryable: false, advice: 'Fix the request and send it again.' },
  WEAK_KDF: { status: 400, retryable: false, advice: 'Use at least the realm kdfMinimum.' },
  UNAUTHENTICATED: { status: 401, retryable: false, advice: 'Send a valid bearer token.' },
  WRONG_PASSPHRASE: {
    status: 401,
    retryable: false,
    advice: 'Ask the user again; guessesRemaining says how many tries are left.',
  },
  NOT_FOUND: { status: 404, retryable: false, advice: 'Check the path.' },
  ENROLLMENT_NOT_FOUND: {
    status: 404,
    retryable: false,
    advice: 'Start a new enrollment: it is unknown, expired or already committed.',
  },
  RECOVERY_NOT_FOUND: {
    status: 404,
    retryable: false,
    advice: 'Start a new recovery: it is unknown, expired or already finished.',
  },
  NO_RECORD: { status: 404, retryable: false, advice: 'The user has no escrowed key.' },
  VERSION_MISMATCH: {
    status: 409,
    retryable: false,
    advice: 'Read the record again (GET /v1/record) and derive with its salt and KDF.',
  },
  LOCKED_OUT: {
    status: 410,
    retryable: false,
    advice: 'The record was destroyed after too many wrong passphrases; it cannot come back.',
  },
  RATE_LIMITED: { status: 429, retryable: true, advice: 'Wait Retry-After seconds.' },
  INTERNAL: { status: 500, retryable: true, advice: 'Try again later; report if it persists.' },
  OVERLOADED: { status: 503, retryable: true, advice: 'Try again shortly with backoff.' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, advice: 'Try again shortly.' },
  HSM_UNAVAILABLE: { status: 503, retryable: true, advice: 'Try again shortly.' },
  HSM_BAD_INPUT: {
    status: 400,
    retryable: false,
    advice: 'The HSM refused an input (a point or a wrapped key); fix the request.',
  },
  HSM_AUTH_FAILED: {
    status: 500,
    retryable: false,
    advice: 'The operator must fix the HSM PIN or token configuration.',
  },
  NETWORK: { status: 0, retryable: true, advice: 'Check the vault URL and the network.' },
  // Raised by the client only (status 0: no HTTP response of ours carries them).
  BAD_RESPONSE: {
    status: 0,
    retryable: false,
    advice: 'The vault answered something this client cannot use; check the URL and versions.',
  },
  SEALED_KEY_INVALID: {
    status: 0,
    retryable: false,
    advice: 'The released key does not open with this passphrase: the record is damaged.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Details that may travel on the wire beside the code. Never secrets. */
export interface ErrorDetails {
  guessesRemaining?: number;
  /** Seconds to wait before trying again (mirrors the `Retry-After` header). */
  retryAfter?: number;
  /** For INVALID_REQUEST: where the request was wrong, e.g. "blindedElement". */
  field?: string;
}

/**
 * An error with a stable code. `message` is for humans and may change; branch on `code`.
 * `cause` keeps internal detail (a CKR_* name, a SQL error) for the server log only.
 */
export class BkvError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BkvError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}
