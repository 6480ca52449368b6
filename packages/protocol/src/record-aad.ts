/**
 * Additional data of the record's HSM seal (docs/protocol.md, "The sealed record"). The
 * service seals `unlockTag || sealedKey` with the realm's AES-GCM key under this AAD, so a
 * sealed payload copied to another realm, user or version does not open.
 */
import { concatBytes, utf8 } from './bytes';
import { LENGTHS } from './suite';

/** Four bytes, unsigned, big-endian. */
function u32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError('value does not fit in 32 bits');
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/**
 * `aad = realmId(16) || u32be(len(userIdUtf8)) || userIdUtf8 || u32be(version)`, where
 * `userIdUtf8` is the user id (the token's `sub`) in UTF-8 exactly as received.
 */
export function recordAad(realmId: Uint8Array, userId: string, version: number): Uint8Array {
  if (realmId.length !== LENGTHS.realmId) {
    throw new RangeError(`realmId must be ${LENGTHS.realmId} bytes`);
  }
  const user = utf8(userId);
  return concatBytes(realmId, u32be(user.length), user, u32be(version));
}
