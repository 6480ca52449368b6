/**
 * Keys derived from the OPRF output (docs/protocol.md, "Client derivations"):
 *
 * ```
 * prk       = HKDF-Extract(salt = realmId, ikm = y)
 * unlockKey = HKDF-Expand(prk, "bkv1 unlock key", 32)
 * wrapKey   = HKDF-Expand(prk, "bkv1 key encryption key", 32)
 * unlockTag = HMAC-SHA256(unlockKey, "bkv1 unlock tag")
 * ```
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8, wipe } from './bytes';
import { LABELS, LENGTHS } from './suite';

/** What a passphrase yields once the realm has evaluated it. */
export interface RecordKeys {
  /** Opens the sealed backup key. Secret: wipe it when done. */
  wrapKey: Uint8Array;
  /** Proves the passphrase to the realm. Secret until sent; the realm keeps it sealed. */
  unlockTag: Uint8Array;
}

/**
 * Derives the wrap key and the unlock tag from the OPRF output `y` and the realm id. The
 * intermediate unlock key is wiped before returning; `y` is left to the caller.
 */
export function deriveRecordKeys(y: Uint8Array, realmId: Uint8Array): RecordKeys {
  if (realmId.length !== LENGTHS.realmId) {
    throw new RangeError(`realmId must be ${LENGTHS.realmId} bytes`);
  }

  // RFC 5869 §2.2: extract a pseudorandom key with the realm id as salt.
  const prk = extract(sha256, y, realmId);

  // RFC 5869 §2.3: expand it once per label, 32 bytes each.
  const unlockKey = expand(sha256, prk, utf8(LABELS.unlockKey), 32);
  const wrapKey = expand(sha256, prk, utf8(LABELS.wrapKey), 32);
  wipe(prk);

  // RFC 2104 HMAC keyed by the unlock key over a fixed label: the value the realm compares.
  const unlockTag = hmac(sha256, unlockKey, utf8(LABELS.unlockTag));
  wipe(unlockKey);
  return { wrapKey, unlockTag };
}
