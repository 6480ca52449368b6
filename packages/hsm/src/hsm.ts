/**
 * The narrow interface through which the rest of the project uses the HSM. Every method is
 * async and runs off the event loop. Failures are `BkvError`s with the codes HSM_UNAVAILABLE
 * (retry later), HSM_BAD_INPUT (the caller's input was refused) or HSM_AUTH_FAILED (operator
 * must fix configuration); the PKCS#11 return code name is kept as the error's `cause`.
 */

/** A per-record OPRF key, as it may be stored outside the HSM. */
export interface WrappedOprfKey {
  /** The P-256 private key wrapped under the realm wrapping key (RFC 3394). */
  wrappedKey: Uint8Array;
  /** `P = k·G`, SEC1 uncompressed, 65 bytes. Public. */
  publicKey: Uint8Array;
  /** Generation of the realm wrapping key that wrapped it. */
  wrapKeyId: number;
}

export interface Hsm {
  /** The realm id (16 bytes) stored with the realm keys. Public. */
  readonly realmId: Uint8Array;

  /** Makes a P-256 key inside the HSM and returns it only wrapped, with its public point. */
  makeOprfKey(): Promise<WrappedOprfKey>;

  /**
   * RFC 9497 BlindEvaluate in mode OPRF, P256-SHA256: returns `k·B` SEC1 compressed (33 bytes).
   * Refuses malformed points, points off the curve and the identity with HSM_BAD_INPUT.
   */
  evaluateOprf(key: WrappedOprfKey, blindedElement: Uint8Array): Promise<Uint8Array>;

  /** AES-256-GCM under the realm sealing key: nonce(12) || ciphertext || tag(16). */
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;

  /** Opens what `seal` made; HSM_BAD_INPUT when the blob or its AAD does not authenticate. */
  open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;

  /** HMAC-SHA256 under the realm MAC key. */
  mac(data: Uint8Array): Promise<Uint8Array>;
  verifyMac(data: Uint8Array, tag: Uint8Array): Promise<boolean>;

  /** `n` bytes from the HSM's random generator. */
  random(n: number): Promise<Uint8Array>;

  /** Resolves when a session can reach the token; for readiness checks. */
  ping(): Promise<void>;

  /** Finishes work in flight, closes sessions and finalises the module. */
  close(): Promise<void>;
}
