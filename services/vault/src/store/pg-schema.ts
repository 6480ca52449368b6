/**
 * The PostgreSQL schema as numbered migrations, the same tables as SQLite's in PostgreSQL
 * types (bytea, bigint milliseconds, jsonb). `infra/postgres/schema.sql` shows the result
 * for operators; a test keeps the two equal. Never edit a shipped migration: add the next.
 */
import type { Migration } from './sqlite-schema';

/** The advisory lock every instance takes before migrating, so that only one runs them. */
export const MIGRATION_LOCK_KEY = 0x626b76; // "bkv"

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'records and pending work',
    sql: `
CREATE TABLE records (
  user_id text PRIMARY KEY,
  version integer NOT NULL CHECK (version >= 1),
  state text NOT NULL CHECK (state IN ('active', 'locked')),
  kdf jsonb NOT NULL,
  salt bytea,
  guess_limit integer NOT NULL CHECK (guess_limit >= 1),
  guesses_used integer NOT NULL DEFAULT 0 CHECK (guesses_used BETWEEN 0 AND guess_limit),
  failures_in_row integer NOT NULL DEFAULT 0 CHECK (failures_in_row >= 0),
  next_attempt_at bigint,
  oprf_public_key bytea,
  wrapped_oprf_key bytea,
  wrap_key_id integer NOT NULL,
  sealed bytea,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  locked_at bigint,
  -- An active record has all its key material; a tombstone has none of it.
  CONSTRAINT records_active_complete CHECK (state <> 'active' OR (salt IS NOT NULL
    AND oprf_public_key IS NOT NULL AND wrapped_oprf_key IS NOT NULL AND sealed IS NOT NULL
    AND locked_at IS NULL)),
  CONSTRAINT records_locked_empty CHECK (state <> 'locked' OR (salt IS NULL
    AND oprf_public_key IS NULL AND wrapped_oprf_key IS NULL AND sealed IS NULL
    AND locked_at IS NOT NULL))
);

CREATE TABLE pending_enrollments (
  id text PRIMARY KEY,
  user_id text NOT NULL,
  kdf jsonb NOT NULL,
  salt bytea NOT NULL,
  guess_limit integer NOT NULL CHECK (guess_limit >= 1),
  oprf_public_key bytea NOT NULL,
  wrapped_oprf_key bytea NOT NULL,
  wrap_key_id integer NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX pending_enrollments_user ON pending_enrollments (user_id);
CREATE INDEX pending_enrollments_expiry ON pending_enrollments (expires_at);

CREATE TABLE pending_recoveries (
  id text PRIMARY KEY,
  user_id text NOT NULL,
  version integer NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX pending_recoveries_user ON pending_recoveries (user_id, version);
CREATE INDEX pending_recoveries_expiry ON pending_recoveries (expires_at);
`,
  },
  {
    version: 2,
    name: 'record generations that outlive a forget',
    sql: `
-- The highest version each user's record ever had. A forget deletes the record but not this
-- row, so the next enrollment's version is still above every earlier one: pending recoveries,
-- sealed payloads and guess outcomes name a generation by (user, version).
CREATE TABLE record_generations (
  user_id text PRIMARY KEY,
  last_version integer NOT NULL CHECK (last_version >= 1)
);
INSERT INTO record_generations (user_id, last_version)
  SELECT user_id, version FROM records;
`,
  },
];
