/**
 * Byte helpers shared by the derivations: an injectable random source, concatenation and
 * wiping. Nothing here draws randomness of its own.
 */

/**
 * A source of cryptographically secure random bytes, passed in by the caller so that tests
 * can replay fixed values against the vectors. Must return exactly `length` fresh bytes.
 */
export type RandomSource = (length: number) => Uint8Array;

/** Concatenates byte strings into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** UTF-8 bytes of a string, exactly as given (no normalisation). */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * Overwrites key material with zeros once it is no longer needed. JavaScript cannot promise
 * that no copy survives elsewhere in memory, but the buffers we own stop holding secrets.
 */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) buffer?.fill(0);
}

/** Constant-time comparison of two byte strings of public length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Calls `random` and checks that it kept its contract, so a broken source fails loudly. */
export function drawRandom(random: RandomSource, length: number): Uint8Array {
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new TypeError(`random source returned ${String(bytes?.length)} bytes, not ${length}`);
  }
  return bytes;
}
