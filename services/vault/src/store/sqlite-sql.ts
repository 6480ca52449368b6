/**
 * The SQLite statements of the store, with named parameters (`:name`). The guess counter is
 * only ever changed by conditional updates whose WHERE clause carries the invariant, and the
 * backoff wait is computed inside the statement from the bound policy.
 */
import { REFUSAL_COLUMNS } from './refusals';

/** Whether a pending row is still usable at `:now`: it expires at `expires_at` exactly. */
const UNEXPIRED = 'expires_at > :now';

/**
 * When the next start may come, from the failures in a row *before* this one (SET expressions
 * read the old row): no wait (NULL) for the first `free`, then base, doubling, at most cap.
 * `:maxShift` keeps the shift where the cap already applies. NULL rather than "now" matters:
 * a concurrent start that read the clock a moment earlier must not see a wait that is not one.
 */
const NEXT_ATTEMPT = `CASE WHEN failures_in_row + 1 <= :free THEN NULL
  ELSE :now + min(:capMs, :baseMs << min(failures_in_row - :free, :maxShift)) END`;

export const SQL = {
  getRecord: 'SELECT * FROM records WHERE user_id = :userId',

  putEnrollment: `INSERT INTO pending_enrollments (id, user_id, kdf, salt, guess_limit,
      oprf_public_key, wrapped_oprf_key, wrap_key_id, created_at, expires_at)
    VALUES (:id, :userId, :kdf, :salt, :guessLimit, :oprfPublicKey, :wrappedOprfKey,
      :wrapKeyId, :createdAt, :expiresAt)`,

  getEnrollment: `SELECT * FROM pending_enrollments
    WHERE id = :id AND user_id = :userId AND ${UNEXPIRED}`,

  consumeEnrollment: `DELETE FROM pending_enrollments
    WHERE id = :id AND user_id = :userId AND ${UNEXPIRED} RETURNING id`,

  insertRecord: `INSERT INTO records (user_id, version, state, kdf, salt, guess_limit,
      oprf_public_key, wrapped_oprf_key, wrap_key_id, sealed, created_at, updated_at)
    VALUES (:userId, :version, 'active', :kdf, :salt, :guessLimit, :oprfPublicKey,
      :wrappedOprfKey, :wrapKeyId, :sealed, :now, :now)
    ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,

  replaceRecord: `UPDATE records SET version = :version, state = 'active', kdf = :kdf,
      salt = :salt, guess_limit = :guessLimit, guesses_used = 0, failures_in_row = 0,
      next_attempt_at = NULL, oprf_public_key = :oprfPublicKey,
      wrapped_oprf_key = :wrappedOprfKey, wrap_key_id = :wrapKeyId, sealed = :sealed,
      created_at = :now, updated_at = :now, locked_at = NULL
    WHERE user_id = :userId AND version = :expectedVersion RETURNING user_id`,

  lastVersion: 'SELECT last_version FROM record_generations WHERE user_id = :userId',

  // A version is taken once per user: only above the highest ever committed, forgets included.
  claimVersion: `INSERT INTO record_generations (user_id, last_version) VALUES (:userId, :version)
    ON CONFLICT (user_id) DO UPDATE SET last_version = excluded.last_version
      WHERE record_generations.last_version < excluded.last_version
    RETURNING user_id`,

  deleteRecord: 'DELETE FROM records WHERE user_id = :userId',
  deleteUserEnrollments: 'DELETE FROM pending_enrollments WHERE user_id = :userId',
  deleteUserRecoveries: 'DELETE FROM pending_recoveries WHERE user_id = :userId',

  // Invariant 1 (protocol.md, guess accounting): the guess is consumed by this one
  // conditional update, or not at all.
  consumeGuess: `UPDATE records SET guesses_used = guesses_used + 1,
      failures_in_row = failures_in_row + 1,
      next_attempt_at = ${NEXT_ATTEMPT},
      updated_at = :now
    WHERE user_id = :userId AND state = 'active' AND version = :version
      AND guesses_used < guess_limit
      AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
    RETURNING guess_limit - guesses_used AS guesses_remaining, oprf_public_key,
      wrapped_oprf_key, wrap_key_id`,

  insertRecovery: `INSERT INTO pending_recoveries (id, user_id, version, created_at, expires_at)
    VALUES (:recoveryId, :userId, :version, :now, :expiresAt)`,

  readForRefusal: `SELECT ${REFUSAL_COLUMNS} FROM records WHERE user_id = :userId`,

  // Invariant 4: destroy only while no guess is left; the key material goes, a tombstone stays.
  destroyExhausted: `UPDATE records SET state = 'locked', locked_at = :now, updated_at = :now,
      salt = NULL, oprf_public_key = NULL, wrapped_oprf_key = NULL, sealed = NULL,
      next_attempt_at = NULL
    WHERE user_id = :userId AND version = :version AND state = 'active'
      AND guesses_used >= guess_limit
    RETURNING locked_at`,

  takeRecovery: `DELETE FROM pending_recoveries
    WHERE id = :recoveryId AND user_id = :userId AND ${UNEXPIRED}
    RETURNING user_id, version`,

  peekRecovery: `SELECT p.version, r.sealed FROM pending_recoveries p
    JOIN records r ON r.user_id = p.user_id AND r.version = p.version AND r.state = 'active'
    WHERE p.id = :recoveryId AND p.user_id = :userId AND p.${UNEXPIRED}`,

  sealedAt: `SELECT sealed FROM records
    WHERE user_id = :userId AND version = :version AND state = 'active'`,

  // Invariant 3: a right passphrase resets the budget, except for the guesses other starts
  // have already been answered for and may still finish.
  rightGuess: `UPDATE records SET
      guesses_used = min(guess_limit, (SELECT count(*) FROM pending_recoveries p
        WHERE p.user_id = records.user_id AND p.version = records.version
          AND p.${UNEXPIRED})),
      failures_in_row = 0, next_attempt_at = NULL, updated_at = :now
    WHERE user_id = :userId AND version = :version AND state = 'active'`,

  purgeEnrollments: 'DELETE FROM pending_enrollments WHERE expires_at <= :now',
  purgeRecoveries: 'DELETE FROM pending_recoveries WHERE expires_at <= :now',
} as const;
