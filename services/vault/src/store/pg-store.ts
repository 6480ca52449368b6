/**
 * The shared store: PostgreSQL through a pg Pool, for several vault instances. Every
 * invariant lives in one conditional statement (data-modifying CTEs where SQLite needs a
 * transaction); only a commit holds a transaction open, for four statements. Connection and
 * server failures surface as STORE_UNAVAILABLE, and the pool heals by itself when PostgreSQL
 * returns: broken clients are discarded, new ones are opened on demand.
 */
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { BkvError } from '@bkv/protocol';

import {
  checkCommit,
  checkDate,
  checkEnrollment,
  checkGuess,
  checkId,
  checkRecoveryRef,
  checkStart,
} from './check';
import { valuesFor, type NamedQuery } from './pg-named';
import { isUnavailable, pgError } from './pg-errors';
import { MIGRATION_LOCK_KEY, PG_MIGRATIONS } from './pg-schema';
import { PG_SQL } from './pg-sql';
import { enrollmentParams, recordParams, startParams } from './params';
import { START_ATTEMPTS, classifyRefusedStart, recoveryGone } from './refusals';
import { bytes, int, time, toPendingEnrollment, toPendingRecovery, toStoredRecord } from './rows';
import type { Row } from './rows';
import type {
  CommitOutcome,
  NewRecord,
  PendingEnrollment,
  PendingRecoveryTaken,
  StartOutcome,
  StartRecovery,
  Store,
  StoredRecord,
  WrongGuessOutcome,
} from './store';

export interface PgStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Connections at most; every instance of the vault opens its own pool. Default 10. */
  poolSize?: number;
  /** Server-side limit for one statement, so that a stuck query frees its connection. */
  statementTimeoutMs?: number;
  /** How long to wait for a new connection before STORE_UNAVAILABLE. Default 5 s. */
  connectTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `bkv-vault`. */
  applicationName?: string;
  /**
   * Told about errors of idle connections (the server restarted, a network cut). The pool
   * drops such a client by itself; this is for the log. Without it they are ignored.
   */
  onIdleError?: (err: Error) => void;
}

type Params = Record<string, unknown>;

export class PgStore implements Store {
  private readonly pool: Pool;

  constructor(options: PgStoreOptions) {
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      statement_timeout: options.statementTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName ?? 'bkv-vault',
      keepAlive: true,
    });
    // An idle client's error would otherwise be an unhandled 'error' event: a crash.
    const onIdleError = options.onIdleError ?? (() => undefined);
    this.pool.on('error', (err) => onIdleError(err));
  }

  async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      // Several instances may start at once: one migrates, the others wait and find it done.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      const done = await client.query('SELECT version FROM schema_migrations');
      const applied = new Set(done.rows.map((row: Row) => int(row, 'version')));
      const known = PG_MIGRATIONS.map((m) => m.version);
      if ([...applied].some((v) => !known.includes(v))) {
        throw new BkvError('INTERNAL', 'The database schema is newer than this vault');
      }
      for (const migration of PG_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [migration.version, migration.name, Date.now()],
        );
      }
    });
  }

  async ping(): Promise<void> {
    await this.query({ text: 'SELECT 1', names: [] }, {});
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async getRecord(userId: string): Promise<StoredRecord | null> {
    checkId(userId, 'userId');
    const [row] = await this.query(PG_SQL.getRecord, { userId });
    return row === undefined ? null : toStoredRecord(row);
  }

  async lastVersion(userId: string): Promise<number> {
    checkId(userId, 'userId');
    const [row] = await this.query(PG_SQL.lastVersion, { userId });
    return row === undefined ? 0 : int(row, 'last_version');
  }

  async putEnrollment(enrollment: PendingEnrollment): Promise<void> {
    checkEnrollment(enrollment);
    await this.query(PG_SQL.putEnrollment, enrollmentParams(enrollment));
  }

  async getEnrollment(id: string, userId: string, now: Date): Promise<PendingEnrollment | null> {
    checkId(id, 'id');
    checkId(userId, 'userId');
    checkDate(now, 'now');
    const [row] = await this.query(PG_SQL.getEnrollment, { id, userId, now: now.getTime() });
    return row === undefined ? null : toPendingEnrollment(row);
  }

  async commitEnrollment(
    enrollmentId: string,
    expectedVersion: number | null,
    record: NewRecord,
    now: Date,
  ): Promise<CommitOutcome> {
    checkId(enrollmentId, 'enrollmentId');
    checkCommit(expectedVersion, record, now);
    const params = { ...recordParams(record, now), id: enrollmentId, expectedVersion };

    return this.transaction(async (client): Promise<CommitOutcome | 'rollback'> => {
      const consumed = await run(client, PG_SQL.consumeEnrollment, params);
      if (consumed.length === 0) return { kind: 'enrollment_not_found' };

      // The record changes only from the version the caller read; otherwise undo the consume.
      const write = expectedVersion === null ? PG_SQL.insertRecord : PG_SQL.replaceRecord;
      const written = await run(client, write, params);
      if (written.length === 0) return 'rollback';
      // A version already used, before a forget or by a racing commit, is never used again.
      if ((await run(client, PG_SQL.claimVersion, params)).length === 0) return 'rollback';
      await run(client, PG_SQL.deleteUserRecoveries, params);
      return { kind: 'committed' };
    }).then((outcome) => (outcome === 'rollback' ? { kind: 'conflict' } : outcome));
  }

  async deleteRecord(userId: string): Promise<boolean> {
    checkId(userId, 'userId');
    // The row lock first, so that no start racing this delete leaves a pending recovery
    // behind for a later record of the same version.
    return this.transaction(async (client) => {
      await run(client, PG_SQL.lockRecord, { userId });
      await run(client, PG_SQL.deleteUserRecoveries, { userId });
      await run(client, PG_SQL.deleteUserEnrollments, { userId });
      return (await run(client, PG_SQL.deleteRecord, { userId })).length > 0;
    });
  }

  async startRecovery(start: StartRecovery): Promise<StartOutcome> {
    checkStart(start);
    const params = startParams(start);

    for (let i = 0; i < START_ATTEMPTS; i += 1) {
      // Invariant 1: one statement consumes the guess and writes the pending recovery.
      const [consumed] = await this.query(PG_SQL.startRecovery, params);
      if (consumed !== undefined) {
        return {
          kind: 'started',
          guessesRemaining: int(consumed, 'guesses_remaining'),
          oprfPublicKey: bytes(consumed, 'oprf_public_key'),
          wrappedOprfKey: bytes(consumed, 'wrapped_oprf_key'),
          wrapKeyId: int(consumed, 'wrap_key_id'),
        };
      }

      // Refused: the read only says why. Each step after it is again conditional, so a row
      // that changed in between makes it match nothing, and we go round once more.
      const [row] = await this.query(PG_SQL.readForRefusal, params);
      const refusal = classifyRefusedStart(row, start);
      if (refusal.kind === 'retry') continue;
      if (refusal.kind !== 'exhausted') return refusal;

      // Invariant 4: a start when none are left destroys the record.
      const [destroyed] = await this.query(PG_SQL.destroyExhausted, params);
      if (destroyed !== undefined) {
        return { kind: 'locked', lockedAt: time(destroyed, 'locked_at'), destroyedNow: true };
      }
    }
    throw new BkvError('STORE_UNAVAILABLE', 'The record kept changing during a start');
  }

  async takeRecovery(
    recoveryId: string,
    userId: string,
    now: Date,
  ): Promise<PendingRecoveryTaken | null> {
    checkRecoveryRef(recoveryId, userId, now);
    const params = { recoveryId, userId, now: now.getTime() };
    const [taken] = await this.query(PG_SQL.takeRecovery, params);
    if (taken === undefined || taken.sealed === null) return null;
    return toPendingRecovery(userId, taken);
  }

  async peekRecovery(
    recoveryId: string,
    userId: string,
    now: Date,
  ): Promise<PendingRecoveryTaken | null> {
    checkRecoveryRef(recoveryId, userId, now);
    const params = { recoveryId, userId, now: now.getTime() };
    const [row] = await this.query(PG_SQL.peekRecovery, params);
    if (row === undefined) return null;
    return toPendingRecovery(userId, row);
  }

  async recordRightGuess(userId: string, version: number, now: Date): Promise<void> {
    checkGuess(userId, version, now);
    // The reset counts the pending recoveries still owed a guess; with the row locked first,
    // its count includes every start that got in before it (a statement alone would count
    // from a snapshot taken before it waited for the lock, and give a spent guess back).
    await this.transaction(async (client) => {
      await run(client, PG_SQL.lockRecord, { userId });
      await run(client, PG_SQL.rightGuess, { userId, version, now: now.getTime() });
    });
  }

  async recordWrongGuess(userId: string, version: number, now: Date): Promise<WrongGuessOutcome> {
    checkGuess(userId, version, now);
    const params = { userId, version, now: now.getTime() };

    // Invariant 4: the guess was counted at start; with none left, destroy now.
    const [destroyed] = await this.query(PG_SQL.destroyExhausted, params);
    if (destroyed !== undefined) {
      return { kind: 'locked', lockedAt: time(destroyed, 'locked_at'), destroyedNow: true };
    }

    const [row] = await this.query(PG_SQL.readForRefusal, params);
    if (row?.state === 'locked') {
      return { kind: 'locked', lockedAt: time(row, 'locked_at'), destroyedNow: false };
    }
    if (row === undefined || int(row, 'version') !== version) throw recoveryGone();
    return {
      kind: 'counted',
      guessesRemaining: int(row, 'guess_limit') - int(row, 'guesses_used'),
    };
  }

  async purgeExpired(now: Date): Promise<number> {
    checkDate(now, 'now');
    const [row] = await this.query(PG_SQL.purgeExpired, { now: now.getTime() });
    return row === undefined ? 0 : int(row, 'purged');
  }

  /** One statement on any pooled connection (autocommit); failures become BkvErrors. */
  private async query(query: NamedQuery, params: Params): Promise<Row[]> {
    try {
      const result = await this.pool.query<QueryResultRow>(query.text, valuesFor(query, params));
      return result.rows;
    } catch (err) {
      throw pgError(err);
    }
  }

  /** BEGIN ... COMMIT on one connection; ROLLBACK unless `work` returns a plain outcome. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw pgError(err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(result === 'rollback' ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (err) {
      // A client whose connection failed must not go back to the pool.
      if (isUnavailable(err)) broken = err;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw pgError(err);
    } finally {
      client.release(broken === undefined ? undefined : true);
    }
  }
}

async function run(client: PoolClient, query: NamedQuery, params: Params): Promise<Row[]> {
  const result = await client.query<QueryResultRow>(query.text, valuesFor(query, params));
  return result.rows;
}
