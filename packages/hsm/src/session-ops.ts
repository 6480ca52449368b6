/**
 * The hot operations of a recovery, each done start to finish on one session with synchronous
 * PKCS#11 calls: the OPRF evaluation (unwrap, two ECDH derives, sign recovery) and the opening
 * of a sealed record. They run on the adapter's session threads (`session-thread.ts`), never on
 * the event loop. Their messages are plain data, so that they cross threads by structured clone;
 * handles travel as the bytes pkcs11js uses for them, since a session and its objects belong to
 * the process, not to a thread (PKCS#11 v2.40 §5.6).
 */
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { ckrName, toBkvError } from './errors';
import { destroyQuietly, readAttribute } from './objects';
import { planEvaluation } from './points';
import { gcm } from './steps';
import * as templates from './templates';

export interface EvaluateRequest {
  op: 'evaluate';
  session: Uint8Array;
  /** The realm wrapping key of the record's generation. */
  unwrappingKey: Uint8Array;
  /** A realm token object to touch when a call is refused (see {@link inputCall}). */
  probe: Uint8Array;
  wrappedKey: Uint8Array;
  publicKey: Uint8Array;
  blindedElement: Uint8Array;
}

export interface OpenRequest {
  op: 'open';
  session: Uint8Array;
  sealingKey: Uint8Array;
  probe: Uint8Array;
  nonce: Uint8Array;
  /** Ciphertext and tag. */
  body: Uint8Array;
  aad: Uint8Array;
}

export type SessionRequest = EvaluateRequest | OpenRequest;

/** Why an operation failed, in a form that crosses threads. */
export interface SessionFailure {
  /** A project error code decided on the thread, or undefined for a PKCS#11 or other error. */
  code?: BkvError['code'];
  message: string;
  /** The failing call took outside input: a generic refusal there is HSM_BAD_INPUT. */
  atInputStep: boolean;
  /** Refused before any PKCS#11 call: the session is as it was and may be lent again. */
  untouched: boolean;
}

/** A caller's input refused before the session was used. */
class Untouched extends Error {}

/** Runs `request` on its session; the result's bytes, or throws a {@link SessionFailure}. */
export function runSessionRequest(lib: PKCS11, request: SessionRequest): Uint8Array {
  return request.op === 'evaluate' ? evaluate(lib, request) : open(lib, request);
}

/** The brief's "OPRF evaluation inside a PKCS#11 HSM", on one session. */
function evaluate(lib: PKCS11, request: EvaluateRequest): Uint8Array {
  // Refuse what is malformed before it reaches the HSM (protocol brief; RFC 9497 §2.1).
  let plan: ReturnType<typeof planEvaluation>;
  try {
    plan = planEvaluation(request.blindedElement, request.publicKey);
  } catch (err) {
    throw new Untouched('refused', { cause: err });
  }
  const session = handle(request.session);
  const probe = handle(request.probe);
  const k = inputCall(lib, session, probe, () =>
    lib.C_UnwrapKey(
      session,
      { mechanism: pkcs11js.CKM_AES_KEY_WRAP },
      handle(request.unwrappingKey),
      Buffer.from(request.wrappedKey),
      templates.UNWRAPPED_OPRF_KEY,
    ),
  );
  try {
    // Two ECDH derives (PKCS#11 v2.40 §2.3.17, CKD_NULL): x(k·B) and x(k·(B + m·G)).
    const x1 = inputCall(lib, session, probe, () => deriveX(lib, session, k, plan.first));
    const x2 = inputCall(lib, session, probe, () => deriveX(lib, session, k, plan.second));
    return plan.finish(x1, x2);
  } finally {
    destroyQuietly(lib, session, k);
  }
}

/** AES-GCM decryption under the realm sealing key (NIST SP 800-38D). */
function open(lib: PKCS11, request: OpenRequest): Uint8Array {
  const session = handle(request.session);
  lib.C_DecryptInit(
    session,
    gcm(Buffer.from(request.nonce), request.aad),
    handle(request.sealingKey),
  );
  // A wrong tag or AAD comes back as a generic failure from some modules: a refusal here.
  return inputCall(lib, session, handle(request.probe), () =>
    lib.C_Decrypt(session, Buffer.from(request.body), Buffer.alloc(request.body.length)),
  );
}

/** The x-coordinate of `k·point`: derive a session secret, read it, destroy it. */
function deriveX(lib: PKCS11, session: Handle, key: Handle, point: Buffer): Buffer {
  const mechanism = {
    mechanism: pkcs11js.CKM_ECDH1_DERIVE,
    parameter: { type: pkcs11js.CK_PARAMS_EC_DH, kdf: pkcs11js.CKD_NULL, publicData: point },
  };
  const secret = lib.C_DeriveKey(session, mechanism, key, templates.ECDH_SECRET);
  try {
    return readAttribute(lib, session, secret, pkcs11js.CKA_VALUE);
  } finally {
    destroyQuietly(lib, session, secret);
  }
}

/** Thrown by {@link inputCall}: the call's error and whether it counts as refused input. */
class CallFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly atInputStep: boolean,
  ) {
    super('call failed');
  }
}

/**
 * A call whose input came from outside. As a vanished token can fail the same generic way as a
 * refused input, a refusal is checked by touching a realm token object: if that fails too, the
 * token is the problem, and its error is the one reported.
 */
function inputCall<T>(lib: PKCS11, session: Handle, probe: Handle, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (toBkvError(err, 'call', true).code !== 'HSM_BAD_INPUT') throw new CallFailed(err, false);
    try {
      readAttribute(lib, session, probe, pkcs11js.CKA_KEY_TYPE);
    } catch (probeErr) {
      throw new CallFailed(probeErr, false);
    }
    throw new CallFailed(err, true);
  }
}

/** Describes anything the operations threw, for the other side of the thread boundary. */
export function describeFailure(err: unknown): SessionFailure {
  if (err instanceof Untouched) {
    const cause = err.cause;
    const known = cause instanceof BkvError;
    return {
      code: known ? cause.code : 'INTERNAL',
      message: known ? cause.message : 'evaluation planning failed',
      atInputStep: true,
      untouched: true,
    };
  }
  const { error, atInputStep } =
    err instanceof CallFailed ? err : { error: err, atInputStep: false };
  if (error instanceof BkvError) {
    return { code: error.code, message: error.message, atInputStep, untouched: false };
  }
  const message = ckrName(error) ?? (error instanceof Error ? error.message : String(error));
  const code = ckrName(error) === undefined ? ('INTERNAL' as const) : undefined;
  return { code, message, atInputStep, untouched: false };
}

function handle(bytes: Uint8Array): Handle {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
