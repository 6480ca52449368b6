import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { deriveRecordKeys } from './keys';

const y = new Uint8Array(32).fill(0x11);
const realmId = new Uint8Array(16).fill(0x22);
const text = (value: string) => new TextEncoder().encode(value);

describe('deriveRecordKeys', () => {
  it('expands HKDF-SHA256 salted with the realm id under the bkv1 labels', () => {
    const unlockKey = hkdf(sha256, y, realmId, text('bkv1 unlock key'), 32);
    const wrapKey = hkdf(sha256, y, realmId, text('bkv1 key encryption key'), 32);
    const unlockTag = hmac(sha256, unlockKey, text('bkv1 unlock tag'));

    expect(deriveRecordKeys(y, realmId)).toEqual({ wrapKey, unlockTag });
  });

  it('gives another realm other keys for the same OPRF output', () => {
    const other = deriveRecordKeys(y, new Uint8Array(16).fill(0x23));
    const mine = deriveRecordKeys(y, realmId);
    expect(other.wrapKey).not.toEqual(mine.wrapKey);
    expect(other.unlockTag).not.toEqual(mine.unlockTag);
  });

  it('leaves the OPRF output to the caller untouched', () => {
    const copy = new Uint8Array(y);
    deriveRecordKeys(copy, realmId);
    expect(copy).toEqual(y);
  });

  it('refuses a realm id that is not 16 bytes', () => {
    expect(() => deriveRecordKeys(y, new Uint8Array(32))).toThrow(RangeError);
  });
});
