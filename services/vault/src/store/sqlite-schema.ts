/**
 * The SQLite schema as numbered migrations. Applied in order, each once, inside one
 * transaction at start-up; `schema_migrations` remembers which ran. Never edit a shipped
 * migration: add the next number. Times are integer milliseconds since the epoch.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'records and pending work',
    sql: `
      CREATE TABLE records (
        user_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        state TEXT NOT NULL CHECK (state IN ('active', 'locked')),
        kdf TEXT NOT NULL,
        salt BLOB,
        guess_limit INTEGER NOT NULL CHECK (guess_limit >= 1),
        guesses_used INTEGER NOT NULL DEFAULT 0 CHECK (guesses_used BETWEEN 0 AND guess_limit),
        failures_in_row INTEGER NOT NULL DEFAULT 0 CHECK (failures_in_row >= 0),
        next_attempt_at INTEGER,
        oprf_public_key BLOB,
        wrapped_oprf_key BLOB,
        wrap_key_id INTEGER NOT NULL,
        sealed BLOB,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        locked_at INTEGER,
        -- An active record has all its key material; a tombstone has none of it.
        CHECK (state <> 'active' OR (salt IS NOT NULL AND oprf_public_key IS NOT NULL
          AND wrapped_oprf_key IS NOT NULL AND sealed IS NOT NULL AND locked_at IS NULL)),
        CHECK (state <> 'locked' OR (salt IS NULL AND oprf_public_key IS NULL
          AND wrapped_oprf_key IS NULL AND sealed IS NULL AND locked_at IS NOT NULL))
      ) STRICT;

      CREATE TABLE pending_enrollments (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kdf TEXT NOT NULL,
        salt BLOB NOT NULL,
        guess_limit INTEGER NOT NULL CHECK (guess_limit >= 1),
        oprf_public_key BLOB NOT NULL,
        wrapped_oprf_key BLOB NOT NULL,
        wrap_key_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX pending_enrollments_user ON pending_enrollments (user_id);
      CREATE INDEX pending_enrollments_expiry ON pending_enrollments (expires_at);

      CREATE TABLE pending_recoveries (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX pending_recoveries_user ON pending_recoveries (user_id, version);
      CREATE INDEX pending_recoveries_expiry ON pending_recoveries (expires_at);
    `,
  },
  {
    version: 2,
    name: 'record generations that outlive a forget',
    sql: `
      -- The highest version each user's record ever had. A forget deletes the record but not
      -- this row, so the next enrollment's version is still above every earlier one: pending
      -- recoveries, sealed payloads and guess outcomes name a generation by (user, version).
      CREATE TABLE record_generations (
        user_id TEXT PRIMARY KEY,
        last_version INTEGER NOT NULL CHECK (last_version >= 1)
      ) STRICT;
      INSERT INTO record_generations (user_id, last_version)
        SELECT user_id, version FROM records;
    `,
  },
];
