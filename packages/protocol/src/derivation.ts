/**
 * The whole client derivation of suite `bkv1` in two halves around the realm's evaluation
 * (docs/protocol.md, "Client derivations"). Enrollment and recovery run the same steps; they
 * differ only in where the salt comes from and what is done with the keys.
 */
import { wipe, type RandomSource } from './bytes';
import { deriveRecordKeys, type RecordKeys } from './keys';
import { oprfBlind, oprfFinalize } from './oprf';
import { stretchPassphrase } from './stretch';
import type { Kdf } from './suite';

/** State kept between the two halves. Secret; {@link finishDerivation} wipes it. */
export interface PendingDerivation {
  /** The Argon2id output, the OPRF input. */
  readonly input: Uint8Array;
  /** The OPRF blind `r`. */
  readonly blind: Uint8Array;
  /** `B`, to send to the realm. Public. */
  readonly blindedElement: Uint8Array;
}

/**
 * Stretches the passphrase and blinds it: the first half, before any call to the realm.
 * Send `blindedElement` and keep the rest for {@link finishDerivation}.
 */
export async function startDerivation(
  passphrase: string,
  salt: Uint8Array,
  kdf: Kdf,
  random: RandomSource,
): Promise<PendingDerivation> {
  // RFC 9106 Argon2id over UTF8(NFKC(passphrase)).
  const input = await stretchPassphrase(passphrase, salt, kdf);

  // RFC 9497 §3.3.1 Blind.
  try {
    const { blind, blindedElement } = oprfBlind(input, random);
    return { input, blind, blindedElement };
  } catch (error) {
    wipe(input);
    throw error;
  }
}

/**
 * Unblinds the realm's evaluated element and derives the wrap key and unlock tag: the second
 * half. Wipes the pending state whatever happens; the caller wipes the returned wrap key.
 */
export function finishDerivation(
  pending: PendingDerivation,
  evaluatedElement: Uint8Array,
  realmId: Uint8Array,
): RecordKeys {
  let y: Uint8Array | undefined;
  try {
    // RFC 9497 §3.3.1 Finalize, then RFC 5869 HKDF and HMAC.
    y = oprfFinalize(pending.input, pending.blind, evaluatedElement);
    return deriveRecordKeys(y, realmId);
  } finally {
    wipe(y, pending.input, pending.blind);
  }
}
