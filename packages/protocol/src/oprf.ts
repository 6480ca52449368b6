/**
 * The client half of RFC 9497 in mode OPRF (0x00), suite P256-SHA256, on top of noble's
 * implementation. Elements travel as SEC1 compressed points (33 bytes), scalars as 32 bytes
 * big-endian (RFC 9497 §4.3).
 */
import { p256, p256_oprf } from '@noble/curves/nist.js';
import { drawRandom, type RandomSource } from './bytes';
import { BkvError } from './errors';
import { LENGTHS } from './suite';

/** What Blind returns: the secret blind (keep it, wipe it after Finalize) and the element. */
export interface OprfBlinding {
  /** Secret scalar `r`, 32 bytes big-endian. */
  blind: Uint8Array;
  /** `B = r·H(input)`, SEC1 compressed, sent to the realm. */
  blindedElement: Uint8Array;
}

/** Bytes of randomness RandomScalar consumes on P-256: 48, reduced into [1, n-1]. */
const SCALAR_SEED_LENGTH = 48;

/** Order `n` of the P-256 group. */
const ORDER = p256.Point.Fn.ORDER;

/**
 * RFC 9497 §3.3.1 Blind: hashes `input` to the group (RFC 9380 hash_to_curve with DST
 * "HashToGroup-OPRFV1-\x00-P256-SHA256") and multiplies it by a fresh random scalar.
 */
export function oprfBlind(input: Uint8Array, random: RandomSource): OprfBlinding {
  const { blind, blinded } = p256_oprf.oprf.blind(input, (length = SCALAR_SEED_LENGTH) =>
    drawRandom(random, length),
  );
  return { blind, blindedElement: blinded };
}

/**
 * RFC 9497 §3.3.1 Finalize: unblinds the realm's `Z = k·B` and hashes
 * `I2OSP(len(input), 2) || input || I2OSP(len(N), 2) || N || "Finalize"` with SHA-256, where
 * `N = r⁻¹·Z`. Returns the 32-byte OPRF output `y` (secret).
 *
 * `evaluatedElement` comes from the network: anything that is not a compressed point on the
 * curve, or is the identity, is refused as BAD_RESPONSE (RFC 9497 §3.3: reject the identity).
 */
export function oprfFinalize(
  input: Uint8Array,
  blind: Uint8Array,
  evaluatedElement: Uint8Array,
): Uint8Array {
  if (evaluatedElement.length !== LENGTHS.element) {
    throw new BkvError('BAD_RESPONSE', 'evaluatedElement is not a compressed P-256 point');
  }
  try {
    return p256_oprf.oprf.finalize(input, blind, evaluatedElement);
  } catch (cause) {
    throw new BkvError('BAD_RESPONSE', 'evaluatedElement is not a valid P-256 point', {}, cause);
  }
}

/**
 * A random source that makes {@link oprfBlind} use the given blind scalar, for replaying test
 * vectors (RFC 9497 Appendix A lists the blind, not the random bytes behind it). noble maps
 * 48 random bytes `s` to the scalar `(s mod (n - 1)) + 1`, so it hands out `blind - 1`.
 * Never use it outside tests and vectors: a reused blind links two requests.
 */
export function fixedBlindSource(blind: Uint8Array): RandomSource {
  let value = 0n;
  for (const byte of blind) value = (value << 8n) | BigInt(byte);
  if (value < 1n || value >= ORDER) throw new RangeError('blind must be in [1, n-1]');

  return (length) => {
    const out = new Uint8Array(length);
    let rest = value - 1n;
    for (let i = length - 1; i >= 0; i--, rest >>= 8n) out[i] = Number(rest & 0xffn);
    return out;
  };
}
