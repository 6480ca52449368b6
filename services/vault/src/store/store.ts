/**
 * The one store interface. Two implementations (SQLite for one process, PostgreSQL for
 * several) pass the same contract suite. The methods that touch the guess counter are each
 * one atomic statement or transaction: callers never read, decide and write back.
 *
 * Times are `Date`s (stored as integer milliseconds). Binary columns are `Uint8Array`.
 */
import type { Kdf } from '@bkv/protocol';

export interface ActiveRecord {
  state: 'active';
  userId: string;
  version: number;
  kdf: Kdf;
  salt: Uint8Array;
  guessLimit: number;
  guessesUsed: number;
  failuresInRow: number;
  nextAttemptAt: Date | null;
  oprfPublicKey: Uint8Array;
  wrappedOprfKey: Uint8Array;
  wrapKeyId: number;
  /** HSM AES-GCM of unlockTag || sealedKey, AAD = realm id, user id, version. */
  sealed: Uint8Array;
  createdAt: Date;
  updatedAt: Date;
}

/** What remains of a destroyed record: no key material, just the answer for the user. */
export interface LockedRecord {
  state: 'locked';
  userId: string;
  version: number;
  lockedAt: Date;
}

export type StoredRecord = ActiveRecord | LockedRecord;

export interface PendingEnrollment {
  id: string;
  userId: string;
  kdf: Kdf;
  salt: Uint8Array;
  guessLimit: number;
  oprfPublicKey: Uint8Array;
  wrappedOprfKey: Uint8Array;
  wrapKeyId: number;
  createdAt: Date;
  expiresAt: Date;
}

/** The record fields a commit writes; version, counters and times are the store's. */
export interface NewRecord {
  userId: string;
  version: number;
  kdf: Kdf;
  salt: Uint8Array;
  guessLimit: number;
  oprfPublicKey: Uint8Array;
  wrappedOprfKey: Uint8Array;
  wrapKeyId: number;
  sealed: Uint8Array;
}

export type CommitOutcome =
  | { kind: 'committed' }
  /** The enrollment is unknown, expired, already used, or another user's. */
  | { kind: 'enrollment_not_found' }
  /**
   * The user's record version is no longer `expectedVersion`, or `record.version` is not above
   * the user's last version (another commit took it); read again and retry.
   */
  | { kind: 'conflict' };

/**
 * Backoff after consecutive failures: the first `free` failures in a row cost nothing, the
 * next waits `baseMs`, then doubling, capped at `capMs`.
 */
export interface BackoffPolicy {
  free: number;
  baseMs: number;
  capMs: number;
}

export interface StartRecovery {
  userId: string;
  version: number;
  recoveryId: string;
  now: Date;
  expiresAt: Date;
  backoff: BackoffPolicy;
}

export type StartOutcome =
  /** A guess was consumed durably and the pending recovery written; evaluate now. */
  | {
      kind: 'started';
      guessesRemaining: number;
      oprfPublicKey: Uint8Array;
      wrappedOprfKey: Uint8Array;
      wrapKeyId: number;
    }
  | { kind: 'no_record' }
  | { kind: 'version_mismatch'; version: number }
  /** Too soon after consecutive failures; nothing was consumed. */
  | { kind: 'backoff'; retryAt: Date }
  /** Locked before, or destroyed by this very start because no guesses were left. */
  | { kind: 'locked'; lockedAt: Date; destroyedNow: boolean };

export interface PendingRecoveryTaken {
  userId: string;
  version: number;
  /** The record's sealed payload at that version. */
  sealed: Uint8Array;
}

export type WrongGuessOutcome =
  | { kind: 'counted'; guessesRemaining: number }
  | { kind: 'locked'; lockedAt: Date; destroyedNow: boolean };

export interface Store {
  /** Creates or upgrades the schema; safe to call from several instances at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers; for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;

  getRecord(userId: string): Promise<StoredRecord | null>;
  /**
   * The highest version the user's record ever had, kept across a forget (`deleteRecord`);
   * 0 when the user never had one. A commit must go above it.
   */
  lastVersion(userId: string): Promise<number>;

  putEnrollment(enrollment: PendingEnrollment): Promise<void>;
  /** Reads a pending enrollment that is the user's and not expired, without consuming it. */
  getEnrollment(id: string, userId: string, now: Date): Promise<PendingEnrollment | null>;
  /**
   * In one transaction: consumes the enrollment (must be the user's, unexpired, unused),
   * replaces the user's record (active or locked) if its version is still `expectedVersion`
   * (null: no record) and `record.version` is above the user's last version, raises the last
   * version to it, and drops the user's pending recoveries. So no version repeats for a user.
   */
  commitEnrollment(
    enrollmentId: string,
    expectedVersion: number | null,
    record: NewRecord,
    now: Date,
  ): Promise<CommitOutcome>;

  /**
   * Deletes the user's record (active or locked) and pending work; false when none. The last
   * version stays, so that a later record of the user gets a new one.
   */
  deleteRecord(userId: string): Promise<boolean>;

  /**
   * Invariant 1: one conditional update consumes a guess (and bumps failures in a row and the
   * backoff) only if the record is active, at `version`, has guesses left and is not in
   * backoff; the pending recovery is written in the same transaction. When none are left the
   * record is destroyed in the same transaction and `locked` returned.
   */
  startRecovery(start: StartRecovery): Promise<StartOutcome>;

  /**
   * Consumes a pending recovery that is the user's and unexpired (once: a second call gets
   * null) and returns the record's sealed payload if the record is still active at its
   * version; null otherwise.
   */
  takeRecovery(recoveryId: string, userId: string, now: Date): Promise<PendingRecoveryTaken | null>;

  /**
   * What {@link takeRecovery} would return, without consuming anything: the finish opens the
   * sealed payload first, so that an HSM failure leaves the recovery open to retry.
   */
  peekRecovery(recoveryId: string, userId: string, now: Date): Promise<PendingRecoveryTaken | null>;

  /** Right passphrase: resets guesses used, failures in a row and backoff at that version. */
  recordRightGuess(userId: string, version: number, now: Date): Promise<void>;

  /**
   * Wrong passphrase (the guess was already counted at start): destroys the record in the same
   * statement when no guesses are left, leaving a tombstone.
   */
  recordWrongGuess(userId: string, version: number, now: Date): Promise<WrongGuessOutcome>;

  /** Removes expired pending enrollments and recoveries; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}
