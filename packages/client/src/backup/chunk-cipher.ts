/**
 * The one place the backup format touches a cipher: AES-256-GCM over one chunk given as a
 * list of pieces (so that input buffers are never joined). The streams depend on this small
 * interface only, so another implementation (WebCrypto in a browser) can share the format code.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { TAG_LENGTH } from './format';

/** AES-256-GCM bound to one per-file key. */
export interface ChunkCipher {
  /** Encrypts the pieces as one GCM message; returns the ciphertext pieces and the 16-byte tag. */
  seal(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: readonly Uint8Array[],
  ): { ciphertext: Uint8Array[]; tag: Uint8Array };
  /**
   * Decrypts and verifies one GCM message. Returns the plaintext pieces, or `undefined` when the
   * tag does not verify (nothing of an unverified chunk is returned).
   */
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: readonly Uint8Array[],
    tag: Uint8Array,
  ): Uint8Array[] | undefined;
}

/** The node:crypto implementation (OpenSSL, AES-NI where the CPU has it). */
export function nodeChunkCipher(payloadKey: Uint8Array): ChunkCipher {
  const key: KeyObject = createSecretKey(payloadKey);

  return {
    seal(nonce, aad, plaintext) {
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
      cipher.setAAD(aad);
      const ciphertext = plaintext.map((piece) => cipher.update(piece) as Uint8Array);
      const rest = cipher.final();
      if (rest.length > 0) ciphertext.push(rest);
      return { ciphertext, tag: cipher.getAuthTag() };
    },

    open(nonce, aad, ciphertext, tag) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plaintext = ciphertext.map((piece) => decipher.update(piece) as Uint8Array);
      try {
        const rest = decipher.final();
        if (rest.length > 0) plaintext.push(rest);
      } catch {
        // OpenSSL says only "unable to authenticate data"; the caller names the failure.
        for (const piece of plaintext) piece.fill(0);
        return undefined;
      }
      return plaintext;
    },
  };
}
