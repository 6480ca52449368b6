/** Constants of cipher suite `bkv1` (docs/protocol.md, "Cipher suite"). */

export const SUITE = 'bkv1';

export const LENGTHS = {
  realmId: 16,
  salt: 16,
  /** SEC1 compressed P-256 point. */
  element: 33,
  unlockTag: 32,
  /** nonce(12) || AES-256-GCM(K) (32) || tag (16). */
  sealedKey: 60,
  backupKey: 32,
  nonce: 12,
} as const;

export const LABELS = {
  unlockKey: 'bkv1 unlock key',
  wrapKey: 'bkv1 key encryption key',
  unlockTag: 'bkv1 unlock tag',
  backupKeyAad: 'bkv1 backup key',
} as const;

/** Argon2id parameters, as they travel on the wire and with each record. */
export interface Kdf {
  alg: 'argon2id';
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export const DEFAULT_KDF: Kdf = {
  alg: 'argon2id',
  memoryKiB: 65536,
  iterations: 3,
  parallelism: 1,
};

/** True when `kdf` is at least as costly as `minimum` in every parameter that adds cost. */
export function kdfMeets(kdf: Kdf, minimum: Kdf): boolean {
  return kdf.memoryKiB >= minimum.memoryKiB && kdf.iterations >= minimum.iterations;
}
