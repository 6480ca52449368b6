/**
 * The default random source: WebCrypto's CSPRNG, present in browsers and in Node 20 as
 * `globalThis.crypto`.
 */
import type { RandomSource } from '@bkv/protocol';

/** getRandomValues fills at most 65536 bytes per call. */
const MAX_CHUNK = 65536;

/** Returns `length` bytes from the platform CSPRNG. */
export const systemRandom: RandomSource = (length) => {
  const api = globalThis.crypto;
  if (api?.getRandomValues === undefined) {
    throw new Error('no CSPRNG: globalThis.crypto.getRandomValues is not available');
  }
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += MAX_CHUNK) {
    api.getRandomValues(out.subarray(at, Math.min(length, at + MAX_CHUNK)));
  }
  return out;
};
