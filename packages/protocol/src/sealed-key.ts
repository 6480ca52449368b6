/**
 * The sealed backup key (docs/protocol.md, "Client derivations", last step):
 * `sealedKey = nonce(12) || AES-256-GCM(wrapKey, nonce, K, aad = "bkv1 backup key")`, 60 bytes
 * (12 nonce, 32 ciphertext, 16 tag). Uses WebCrypto, present in browsers and in Node 20.
 */
import { concatBytes, utf8, wipe } from './bytes';
import { BkvError } from './errors';
import { LABELS, LENGTHS } from './suite';

/** A copy on a plain ArrayBuffer, the only kind WebCrypto's types accept. Wipe if secret. */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

const AAD = copy(utf8(LABELS.backupKeyAad));

function subtle(): SubtleCrypto {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) throw new Error('WebCrypto (globalThis.crypto.subtle) is not available');
  return api;
}

async function importWrapKey(wrapKey: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  if (wrapKey.length !== 32) throw new RangeError('wrapKey must be 32 bytes');
  const raw = copy(wrapKey);
  try {
    return await subtle().importKey('raw', raw, 'AES-GCM', false, [usage]);
  } finally {
    wipe(raw);
  }
}

/**
 * Encrypts the backup key `K` under `wrapKey` with a fresh 12-byte `nonce` chosen by the
 * caller (random; never reused with the same wrap key). Returns the 60-byte sealed key.
 */
export async function sealBackupKey(
  wrapKey: Uint8Array,
  backupKey: Uint8Array,
  nonce: Uint8Array,
): Promise<Uint8Array> {
  if (backupKey.length !== LENGTHS.backupKey) throw new RangeError('backup key must be 32 bytes');
  if (nonce.length !== LENGTHS.nonce) throw new RangeError('nonce must be 12 bytes');

  // NIST SP 800-38D: AES-GCM with a 96-bit IV and a 128-bit tag appended to the ciphertext.
  const key = await importWrapKey(wrapKey, 'encrypt');
  const params = { name: 'AES-GCM', iv: copy(nonce), additionalData: AAD, tagLength: 128 };
  const plaintext = copy(backupKey);
  try {
    const sealed = new Uint8Array(await subtle().encrypt(params, key, plaintext));
    return concatBytes(nonce, sealed);
  } finally {
    wipe(plaintext);
  }
}

/**
 * Opens a sealed key with `wrapKey` and returns the 32-byte backup key (secret). A sealed key
 * of the wrong length, or one whose tag does not verify, raises SEALED_KEY_INVALID.
 */
export async function openBackupKey(
  wrapKey: Uint8Array,
  sealedKey: Uint8Array,
): Promise<Uint8Array> {
  if (sealedKey.length !== LENGTHS.sealedKey) {
    throw new BkvError('SEALED_KEY_INVALID', `sealed key must be ${LENGTHS.sealedKey} bytes`);
  }

  const key = await importWrapKey(wrapKey, 'decrypt');
  const iv = copy(sealedKey.subarray(0, LENGTHS.nonce));
  const params = { name: 'AES-GCM', iv, additionalData: AAD, tagLength: 128 };
  try {
    const ciphertext = copy(sealedKey.subarray(LENGTHS.nonce));
    return new Uint8Array(await subtle().decrypt(params, key, ciphertext));
  } catch (cause) {
    throw new BkvError('SEALED_KEY_INVALID', 'the sealed key does not open', {}, cause);
  }
}
