import { createCipheriv } from 'node:crypto';
import { BkvError } from './errors';
import { openBackupKey, sealBackupKey } from './sealed-key';

const wrapKey = new Uint8Array(32).fill(0x33);
const backupKey = new Uint8Array(32).map((_, i) => i);
const nonce = new Uint8Array(12).fill(0x44);

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as BkvError).code;
  }
  return undefined;
}

describe('sealBackupKey', () => {
  it('is nonce || AES-256-GCM ciphertext || tag with the bkv1 backup key AAD', async () => {
    const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce);
    cipher.setAAD(Buffer.from('bkv1 backup key'));
    const body = Buffer.concat([cipher.update(backupKey), cipher.final(), cipher.getAuthTag()]);
    const expected = Buffer.concat([nonce, body]);

    const sealed = await sealBackupKey(wrapKey, backupKey, nonce);
    expect(sealed).toHaveLength(60);
    expect(Buffer.from(sealed)).toEqual(expected);
  });

  it('refuses a nonce that is not 12 bytes', async () => {
    await expect(sealBackupKey(wrapKey, backupKey, new Uint8Array(16))).rejects.toThrow(RangeError);
  });
});

describe('openBackupKey', () => {
  it('returns the key that was sealed', async () => {
    const sealed = await sealBackupKey(wrapKey, backupKey, nonce);
    expect(await openBackupKey(wrapKey, sealed)).toEqual(backupKey);
  });

  it('refuses a sealed key opened with another wrap key as SEALED_KEY_INVALID', async () => {
    const sealed = await sealBackupKey(wrapKey, backupKey, nonce);
    const otherKey = new Uint8Array(32).fill(0x34);
    expect(await codeOf(openBackupKey(otherKey, sealed))).toBe('SEALED_KEY_INVALID');
  });

  it('refuses a sealed key with one flipped bit as SEALED_KEY_INVALID', async () => {
    const sealed = await sealBackupKey(wrapKey, backupKey, nonce);
    sealed[20]! ^= 1;
    expect(await codeOf(openBackupKey(wrapKey, sealed))).toBe('SEALED_KEY_INVALID');
  });

  it('refuses a sealed key of the wrong length as SEALED_KEY_INVALID', async () => {
    expect(await codeOf(openBackupKey(wrapKey, new Uint8Array(59)))).toBe('SEALED_KEY_INVALID');
  });
});
