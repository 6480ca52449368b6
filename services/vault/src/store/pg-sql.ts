/**
 * The PostgreSQL statements of the store, with named parameters (see `pg-named.ts`). Where
 * SQLite needs a transaction of several statements, PostgreSQL does the same work in one
 * statement with data-modifying CTEs: one round trip, atomic, no transaction held open.
 */
import { named } from './pg-named';
import { REFUSAL_COLUMNS } from './refusals';

const UNEXPIRED = 'expires_at > :now::bigint';

/**
 * When the next start may come, from the failures in a row *before* this one (SET expressions
 * read the old row): no wait (NULL) for the first `free`, then base, doubling, at most cap.
 * `:maxShift` keeps the shift where the cap already applies. NULL rather than "now" matters:
 * a concurrent start that read the clock a moment earlier must not see a wait that is not one.
 */
const NEXT_ATTEMPT = `CASE WHEN failures_in_row + 1 <= :free::integer THEN NULL
  ELSE :now::bigint + LEAST(:capMs::bigint,
    :baseMs::bigint << LEAST(failures_in_row - :free::integer, :maxShift::integer)) END`;

/** Invariant 4: destroy only while no guess is left; key material goes, a tombstone stays. */
const DESTROY_EXHAUSTED = `destroyed AS (
    UPDATE records SET state = 'locked', locked_at = :now::bigint, updated_at = :now::bigint,
      salt = NULL, oprf_public_key = NULL, wrapped_oprf_key = NULL, sealed = NULL,
      next_attempt_at = NULL
    WHERE user_id = :userId AND version = :version::integer AND state = 'active'
      AND guesses_used >= guess_limit
    RETURNING user_id, locked_at),
  dropped AS (
    DELETE FROM pending_recoveries p USING destroyed d WHERE p.user_id = d.user_id)`;

export const PG_SQL = {
  getRecord: named('SELECT * FROM records WHERE user_id = :userId'),

  putEnrollment: named(`INSERT INTO pending_enrollments (id, user_id, kdf, salt, guess_limit,
      oprf_public_key, wrapped_oprf_key, wrap_key_id, created_at, expires_at)
    VALUES (:id, :userId, :kdf::jsonb, :salt, :guessLimit, :oprfPublicKey, :wrappedOprfKey,
      :wrapKeyId, :createdAt, :expiresAt)`),

  getEnrollment: named(`SELECT * FROM pending_enrollments
    WHERE id = :id AND user_id = :userId AND ${UNEXPIRED}`),

  consumeEnrollment: named(`DELETE FROM pending_enrollments
    WHERE id = :id AND user_id = :userId AND ${UNEXPIRED} RETURNING id`),

  insertRecord: named(`INSERT INTO records (user_id, version, state, kdf, salt, guess_limit,
      oprf_public_key, wrapped_oprf_key, wrap_key_id, sealed, created_at, updated_at)
    VALUES (:userId, :version, 'active', :kdf::jsonb, :salt, :guessLimit, :oprfPublicKey,
      :wrappedOprfKey, :wrapKeyId, :sealed, :now::bigint, :now::bigint)
    ON CONFLICT (user_id) DO NOTHING RETURNING user_id`),

  replaceRecord: named(`UPDATE records SET version = :version, state = 'active',
      kdf = :kdf::jsonb, salt = :salt, guess_limit = :guessLimit, guesses_used = 0,
      failures_in_row = 0, next_attempt_at = NULL, oprf_public_key = :oprfPublicKey,
      wrapped_oprf_key = :wrappedOprfKey, wrap_key_id = :wrapKeyId, sealed = :sealed,
      created_at = :now::bigint, updated_at = :now::bigint, locked_at = NULL
    WHERE user_id = :userId AND version = :expectedVersion RETURNING user_id`),

  lastVersion: named('SELECT last_version FROM record_generations WHERE user_id = :userId'),

  // A version is taken once per user: only above the highest ever committed, forgets included.
  // A concurrent claim of the same user waits on the row (or its key) and then matches nothing.
  claimVersion: named(`INSERT INTO record_generations (user_id, last_version)
    VALUES (:userId, :version)
    ON CONFLICT (user_id) DO UPDATE SET last_version = EXCLUDED.last_version
      WHERE record_generations.last_version < EXCLUDED.last_version
    RETURNING user_id`),

  deleteUserRecoveries: named('DELETE FROM pending_recoveries WHERE user_id = :userId'),

  // Taken first by the statements that must see every pending row a racing start committed:
  // READ COMMITTED gives each later statement a snapshot from after the lock.
  lockRecord: named('SELECT 1 FROM records WHERE user_id = :userId FOR UPDATE'),

  deleteUserEnrollments: named('DELETE FROM pending_enrollments WHERE user_id = :userId'),

  deleteRecord: named('DELETE FROM records WHERE user_id = :userId RETURNING 1'),

  // Invariant 1 (protocol.md, guess accounting): the guess is consumed by this one
  // conditional update, or not at all; the pending recovery is inserted by the same statement.
  startRecovery: named(`WITH consumed AS (
      UPDATE records SET guesses_used = guesses_used + 1,
        failures_in_row = failures_in_row + 1,
        next_attempt_at = ${NEXT_ATTEMPT},
        updated_at = :now::bigint
      WHERE user_id = :userId AND state = 'active' AND version = :version::integer
        AND guesses_used < guess_limit
        AND (next_attempt_at IS NULL OR next_attempt_at <= :now::bigint)
      RETURNING user_id, version, guess_limit - guesses_used AS guesses_remaining,
        oprf_public_key, wrapped_oprf_key, wrap_key_id),
    pending AS (
      INSERT INTO pending_recoveries (id, user_id, version, created_at, expires_at)
      SELECT :recoveryId, user_id, version, :now::bigint, :expiresAt::bigint FROM consumed)
    SELECT guesses_remaining, oprf_public_key, wrapped_oprf_key, wrap_key_id FROM consumed`),

  readForRefusal: named(`SELECT ${REFUSAL_COLUMNS} FROM records WHERE user_id = :userId`),

  destroyExhausted: named(`WITH ${DESTROY_EXHAUSTED} SELECT locked_at FROM destroyed`),

  peekRecovery: named(`SELECT p.version, r.sealed FROM pending_recoveries p
      JOIN records r ON r.user_id = p.user_id AND r.version = p.version AND r.state = 'active'
    WHERE p.id = :recoveryId AND p.user_id = :userId AND p.${UNEXPIRED}`),

  takeRecovery: named(`WITH taken AS (
      DELETE FROM pending_recoveries
      WHERE id = :recoveryId AND user_id = :userId AND ${UNEXPIRED}
      RETURNING user_id, version)
    SELECT t.version, r.sealed FROM taken t
      LEFT JOIN records r ON r.user_id = t.user_id AND r.version = t.version
        AND r.state = 'active'`),

  // Invariant 3: a right passphrase resets the budget, except for the guesses other starts
  // have already been answered for and may still finish.
  rightGuess: named(`UPDATE records SET
      guesses_used = LEAST(guess_limit, (SELECT count(*) FROM pending_recoveries p
        WHERE p.user_id = records.user_id AND p.version = records.version
          AND p.${UNEXPIRED})::integer),
      failures_in_row = 0, next_attempt_at = NULL, updated_at = :now::bigint
    WHERE user_id = :userId AND version = :version::integer AND state = 'active'`),

  purgeExpired: named(`WITH enrollments AS (
      DELETE FROM pending_enrollments WHERE expires_at <= :now::bigint RETURNING 1),
    recoveries AS (DELETE FROM pending_recoveries WHERE expires_at <= :now::bigint RETURNING 1)
    SELECT ((SELECT count(*) FROM enrollments) + (SELECT count(*) FROM recoveries))::integer
      AS purged`),
} as const;
