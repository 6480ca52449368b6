/**
 * A short-lived memory of bearer tokens whose signatures have been checked. A recovery shows the
 * same token twice within seconds, and checking an ECDSA signature costs the event loop far
 * more than a hash and a map lookup.
 */
import { createHash } from 'node:crypto';

/** What a verifier learned from a token it accepted: its subject and its `exp` (JWT seconds). */
export interface VerifiedToken {
  sub: string;
  exp: number;
}

/** Checks a token in full and returns its subject and expiry; throws to refuse it. */
export type TokenVerifier = (token: string) => Promise<VerifiedToken>;

export interface TokenCacheOptions {
  /** How long an accepted token is taken without a new check, in ms; default 60 s. */
  maxAgeMs?: number;
  /** How many tokens are remembered; past it the oldest is forgotten. Default 10,000. */
  maxEntries?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
}

interface Entry {
  sub: string;
  /** Clock time (ms) from which the token must be checked again. */
  until: number;
}

/**
 * Wraps `verify` so that a token it accepted is taken again without a new check for
 * `maxAgeMs`, never past the token's `exp`. Refusals are not remembered: a refused token is
 * checked in full every time it is shown. The memory is keyed by the SHA-256 of the token, so it
 * holds no bearer credential, only subjects.
 *
 * The price: a token stays accepted for up to `maxAgeMs` after its signing key is withdrawn.
 * Invalid options throw here, not at the first request.
 */
export function cachedVerifier(
  verify: TokenVerifier,
  { maxAgeMs = 60_000, maxEntries = 10_000, clock = Date.now }: TokenCacheOptions = {},
): (token: string) => Promise<string> {
  if (!(maxAgeMs > 0) || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError('cachedVerifier: maxAgeMs and maxEntries must be positive');
  }
  // Map keeps insertion order, so its first key is the oldest entry.
  const entries = new Map<string, Entry>();

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = clock();
    const hit = entries.get(key);
    if (hit && now < hit.until) return hit.sub;
    entries.delete(key);

    const { sub, exp } = await verify(token);

    // `exp` is in seconds and the token is refused from that instant on (RFC 7519 §4.1.4), so
    // the entry ends at exp × 1000 ms at the latest. Counting from before the check (a JWKS
    // fetch may be slow) errs towards checking again sooner.
    const until = Math.min(now + maxAgeMs, exp * 1000);
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
    entries.set(key, { sub, until });
    return sub;
  };
}
