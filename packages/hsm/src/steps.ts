/**
 * Small pieces shared by the adapter's operations: mechanism parameters, encodings and length
 * checks. No pooling or recovery here; see `pkcs11-hsm.ts`.
 */
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { badInput } from './errors';

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** RFC 3394 output is the input plus 8 bytes; a P-256 PKCS#8 key stays well under this. */
export const MAX_WRAPPED_KEY_BYTES = 512;

/** The module and the session an operation borrowed. */
export interface Step {
  lib: PKCS11;
  session: Handle;
}

export function gcm(nonce: Buffer, aad: Uint8Array): pkcs11js.Mechanism {
  const parameter: pkcs11js.GcmParams = {
    type: pkcs11js.CK_PARAMS_AES_GCM,
    iv: nonce,
    ivBits: GCM_NONCE_BYTES * 8,
    aad: Buffer.from(aad),
    tagBits: GCM_TAG_BYTES * 8,
  };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

/** CKA_EC_POINT is a DER OCTET STRING around the SEC1 point (PKCS#11 v2.40 §2.3.3). */
export function unwrapEcPoint(value: Buffer): Uint8Array {
  if (value.length === 67 && value[0] === 0x04 && value[1] === 65)
    return new Uint8Array(value.subarray(2));
  if (value.length === 65 && value[0] === 0x04) return new Uint8Array(value);
  throw new BkvError('INTERNAL', 'unexpected CKA_EC_POINT encoding');
}

/** RFC 3394 output is a multiple of 8 bytes, at least 24; refuse anything else before the HSM. */
export function checkWrappedKey(wrapped: Uint8Array): Buffer {
  if (wrapped.length < 24 || wrapped.length > MAX_WRAPPED_KEY_BYTES || wrapped.length % 8 !== 0) {
    throw badInput('wrapped OPRF key has an impossible length');
  }
  return Buffer.from(wrapped);
}
