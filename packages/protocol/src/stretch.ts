/**
 * Passphrase stretching of suite `bkv1` (docs/protocol.md, "Client derivations", step 1):
 * `input = Argon2id(UTF8(NFKC(passphrase)), salt, m, t, p, 32)`.
 */
import { argon2id } from 'hash-wasm';
import { utf8, wipe } from './bytes';
import { BkvError } from './errors';
import { LENGTHS, type Kdf } from './suite';

/** Length of the Argon2id output that becomes the OPRF input. */
export const STRETCHED_LENGTH = 32;

/**
 * The bytes a passphrase stands for: Unicode NFKC (UAX #15), then UTF-8. Two spellings of
 * the same text ("é" composed or decomposed, the "ﬁ" ligature or "fi") give the same bytes.
 * The result is secret: wipe it when done.
 */
export function normalizePassphrase(passphrase: string): Uint8Array {
  return utf8(passphrase.normalize('NFKC'));
}

/**
 * Stretches a passphrase with Argon2id (RFC 9106, version 0x13) under the record's salt and
 * parameters. Returns 32 secret bytes; the caller wipes them. Costs `kdf.memoryKiB` of memory
 * and, at the default parameters, a few hundred milliseconds of CPU on the calling thread.
 */
export async function stretchPassphrase(
  passphrase: string,
  salt: Uint8Array,
  kdf: Kdf,
): Promise<Uint8Array> {
  if (salt.length !== LENGTHS.salt) {
    throw new BkvError('INVALID_REQUEST', `salt must be ${LENGTHS.salt} bytes`, { field: 'salt' });
  }
  if (passphrase.length === 0) {
    throw new BkvError('INVALID_REQUEST', 'passphrase is empty', { field: 'passphrase' });
  }

  // RFC 9106 §3.1: password P, salt S, parallelism p, tag length T, memory m KiB, passes t.
  const password = normalizePassphrase(passphrase);
  try {
    return await argon2id({
      password,
      salt,
      parallelism: kdf.parallelism,
      iterations: kdf.iterations,
      memorySize: kdf.memoryKiB,
      hashLength: STRETCHED_LENGTH,
      outputType: 'binary',
    });
  } finally {
    wipe(password);
  }
}
