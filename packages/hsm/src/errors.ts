/**
 * The one table from PKCS#11 return values to the project's error codes. The adapter never lets
 * a raw PKCS#11 error escape: every failure becomes a `BkvError` whose `cause` is the CKR_* name
 * (for the server log), and whose code says what the caller can do about it.
 */
import { BkvError, type ErrorCode } from '@bkv/protocol';

type HsmErrorCode = Extract<
  ErrorCode,
  'HSM_UNAVAILABLE' | 'HSM_BAD_INPUT' | 'HSM_AUTH_FAILED' | 'INTERNAL'
>;

/**
 * CKR_* name (PKCS#11 v2.40 §5.1) to code. Names not listed are INTERNAL. HSM_UNAVAILABLE means
 * the token, a session or a cached handle went away: the adapter reconnects on the next call.
 */
export const CKR_TO_CODE: Readonly<Record<string, HsmErrorCode>> = Object.freeze({
  // The token, the module or a session is gone or broken: retry after reconnecting.
  CKR_GENERAL_ERROR: 'HSM_UNAVAILABLE',
  CKR_FUNCTION_FAILED: 'HSM_UNAVAILABLE',
  CKR_HOST_MEMORY: 'HSM_UNAVAILABLE',
  CKR_DEVICE_ERROR: 'HSM_UNAVAILABLE',
  CKR_DEVICE_MEMORY: 'HSM_UNAVAILABLE',
  CKR_DEVICE_REMOVED: 'HSM_UNAVAILABLE',
  CKR_TOKEN_NOT_PRESENT: 'HSM_UNAVAILABLE',
  CKR_TOKEN_NOT_RECOGNIZED: 'HSM_UNAVAILABLE',
  CKR_SLOT_ID_INVALID: 'HSM_UNAVAILABLE',
  CKR_SESSION_CLOSED: 'HSM_UNAVAILABLE',
  CKR_SESSION_HANDLE_INVALID: 'HSM_UNAVAILABLE',
  CKR_SESSION_COUNT: 'HSM_UNAVAILABLE',
  CKR_USER_NOT_LOGGED_IN: 'HSM_UNAVAILABLE',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'HSM_UNAVAILABLE',
  CKR_OBJECT_HANDLE_INVALID: 'HSM_UNAVAILABLE',
  CKR_KEY_HANDLE_INVALID: 'HSM_UNAVAILABLE',
  CKR_WRAPPING_KEY_HANDLE_INVALID: 'HSM_UNAVAILABLE',
  CKR_UNWRAPPING_KEY_HANDLE_INVALID: 'HSM_UNAVAILABLE',

  // The caller's input was refused: a point, a wrapped key, a sealed blob, a tag.
  CKR_WRAPPED_KEY_INVALID: 'HSM_BAD_INPUT',
  CKR_WRAPPED_KEY_LEN_RANGE: 'HSM_BAD_INPUT',
  CKR_ENCRYPTED_DATA_INVALID: 'HSM_BAD_INPUT',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'HSM_BAD_INPUT',
  CKR_DATA_INVALID: 'HSM_BAD_INPUT',
  CKR_DATA_LEN_RANGE: 'HSM_BAD_INPUT',
  CKR_DOMAIN_PARAMS_INVALID: 'HSM_BAD_INPUT',
  CKR_MECHANISM_PARAM_INVALID: 'HSM_BAD_INPUT',
  CKR_ARGUMENTS_BAD: 'HSM_BAD_INPUT',
  CKR_SIGNATURE_INVALID: 'HSM_BAD_INPUT',
  CKR_SIGNATURE_LEN_RANGE: 'HSM_BAD_INPUT',

  // The operator must fix the PIN or the token.
  CKR_PIN_INCORRECT: 'HSM_AUTH_FAILED',
  CKR_PIN_INVALID: 'HSM_AUTH_FAILED',
  CKR_PIN_LEN_RANGE: 'HSM_AUTH_FAILED',
  CKR_PIN_EXPIRED: 'HSM_AUTH_FAILED',
  CKR_PIN_LOCKED: 'HSM_AUTH_FAILED',
  CKR_USER_PIN_NOT_INITIALIZED: 'HSM_AUTH_FAILED',
  CKR_TOKEN_WRITE_PROTECTED: 'HSM_AUTH_FAILED',
});

/**
 * Where the input is the likely culprit (unwrapping a stored key, deriving with a client's point,
 * opening a sealed blob), a generic failure means "refused": SoftHSM answers an off-curve point,
 * a corrupted wrapped key and a wrong GCM tag all with CKR_GENERAL_ERROR.
 */
const REFUSALS_AT_INPUT_STEP = new Set(['CKR_GENERAL_ERROR', 'CKR_FUNCTION_FAILED']);

/** The CKR_* name of a pkcs11js error, or undefined when it is not a PKCS#11 return value. */
export function ckrName(err: unknown): string | undefined {
  if (err instanceof Error && /^CKR_[A-Z0-9_]+$/.test(err.message)) return err.message;
  return undefined;
}

/**
 * Translates anything thrown by pkcs11js into a `BkvError`. `atInputStep` marks calls whose input
 * came from outside (see {@link REFUSALS_AT_INPUT_STEP}). A non-PKCS#11 error (the module failed
 * to load) is HSM_UNAVAILABLE; a `BkvError` passes through unchanged.
 */
export function toBkvError(err: unknown, operation: string, atInputStep = false): BkvError {
  if (err instanceof BkvError) return err;
  const name = ckrName(err);
  if (name === undefined) {
    const code = err instanceof TypeError ? 'INTERNAL' : 'HSM_UNAVAILABLE';
    return new BkvError(code, `HSM ${operation} failed`, {}, err);
  }
  let code: HsmErrorCode = CKR_TO_CODE[name] ?? 'INTERNAL';
  if (atInputStep && REFUSALS_AT_INPUT_STEP.has(name)) code = 'HSM_BAD_INPUT';
  return new BkvError(code, `HSM ${operation} failed: ${name}`, {}, name);
}

/** An input refused before it reaches the HSM. */
export function badInput(message: string): BkvError {
  return new BkvError('HSM_BAD_INPUT', message);
}
