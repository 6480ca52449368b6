/**
 * Object templates (PKCS#11 v2.40 §4): what each key may do is fixed here, in one place, so
 * that a review of the key policy reads one file.
 */
import * as pkcs11js from 'pkcs11js';
import type { Template } from 'pkcs11js';

/** DER of the P-256 curve OID 1.2.840.10045.3.1.7, the CKA_EC_PARAMS of every OPRF key. */
export const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

/** A realm secret key: a token object, private, sensitive, never extractable. */
export function realmSecretKey(label: string, id: Buffer, uses: Template): Template {
  return [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    ...uses,
  ];
}

/** The AES-256 wrapping key: wraps and unwraps per-record OPRF keys, nothing else. */
export const WRAP_KEY_USES: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
  { type: pkcs11js.CKA_WRAP, value: true },
  { type: pkcs11js.CKA_UNWRAP, value: true },
  { type: pkcs11js.CKA_ENCRYPT, value: false },
  { type: pkcs11js.CKA_DECRYPT, value: false },
];

/** The AES-256 sealing key: AES-GCM encrypt and decrypt. */
export const SEAL_KEY_USES: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
  { type: pkcs11js.CKA_ENCRYPT, value: true },
  { type: pkcs11js.CKA_DECRYPT, value: true },
  { type: pkcs11js.CKA_WRAP, value: false },
  { type: pkcs11js.CKA_UNWRAP, value: false },
];

/** The HMAC-SHA256 key: a 32-byte generic secret that signs and verifies. */
export const MAC_KEY_USES: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
  { type: pkcs11js.CKA_SIGN, value: true },
  { type: pkcs11js.CKA_VERIFY, value: true },
];

/** The public half of a fresh OPRF key pair: a session object, read once and destroyed. */
export const OPRF_PUBLIC_KEY: Template = [
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
];

/**
 * The private half of a fresh (or imported) OPRF key: a session object, sensitive, usable for
 * ECDH, extractable only so that it can be wrapped once under the realm wrapping key.
 */
export const OPRF_PRIVATE_KEY: Template = [
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_DERIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: true },
];

/** An OPRF key unwrapped for one evaluation: a session object that can derive and nothing more. */
export const UNWRAPPED_OPRF_KEY: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_PRIVATE, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  { type: pkcs11js.CKA_DERIVE, value: true },
];

/** The ECDH output (an x-coordinate): a session object readable once, then destroyed. */
export const ECDH_SECRET: Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: false },
  { type: pkcs11js.CKA_EXTRACTABLE, value: true },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
];
