/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) for a single vault process, or a
 * few on one host. better-sqlite3 is synchronous, so every write is a short piece of work that
 * never awaits; the writes of one event-loop turn share a transaction and its fsync, which runs
 * off the event loop (`SqliteBatch`), each in its own savepoint. Writers take the lock at BEGIN
 * (IMMEDIATE), which is what lets several processes share the file without a read-to-write
 * upgrade failing under WAL. Reads run directly, outside any batch.
 */
import Database from 'better-sqlite3';
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
import { enrollmentParams, recordParams, startParams } from './params';
import { bytes, int, time, toPendingEnrollment, toPendingRecovery, toStoredRecord } from './rows';
import type { Row } from './rows';
import { SqliteBatch, type SyncLevel, type WalSync, walFileSync } from './sqlite-batch';
import { sqliteError } from './sqlite-errors';
import { SQLITE_MIGRATIONS } from './sqlite-schema';
import { SQL } from './sqlite-sql';
import { START_ATTEMPTS, classifyRefusedStart, recoveryGone } from './refusals';
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

export interface SqliteStoreOptions {
  /** The database file; created when missing. Its folder must exist. */
  path: string;
  /** How long a writer waits for another connection's lock before STORE_UNAVAILABLE. */
  busyTimeoutMs?: number;
}

/** Thrown inside a transaction to roll it back and answer `conflict`. */
class Conflict extends Error {}

/**
 * For writes whose loss in a power cut errs on the safe side: a consumed pending recovery
 * reappearing (the guess it stands for stays spent) or a right guess's reset not happening
 * (the user keeps fewer guesses). Their callers hear back at the commit; the next WAL sync,
 * for a start or a wrong guess, or a checkpoint makes them durable too.
 */
const MAY_SKIP_SYNC: SyncLevel = 'NORMAL';

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly batch: SqliteBatch;
  private readonly wal: WalSync;

  /** Opens (or creates) the file; call `migrate()` before anything else. */
  constructor(options: SqliteStoreOptions) {
    try {
      this.db = new Database(options.path);
      // The busy timeout first: switching to WAL itself may wait for another connection.
      this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      if (this.db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
        throw new BkvError('STORE_UNAVAILABLE', 'SQLite cannot keep a WAL for this file');
      }
      // Invariant 1 says "durably": COMMIT does not sync (NORMAL), the batch syncs the WAL
      // itself, off the event loop, before it answers a write that must survive a power cut.
      this.db.pragma('synchronous = NORMAL');
      // The WAL sits beside the file SQLite resolved (symlinks followed), not the path given.
      const files = this.db.pragma('database_list') as Array<{ name: string; file: string }>;
      this.wal = walFileSync(files.find((f) => f.name === 'main')!.file);
      // Destroyed and deleted key material is overwritten in the file, not left in free pages.
      this.db.pragma('secure_delete = ON');
      this.batch = new SqliteBatch(this.db, this.wal);
    } catch (err) {
      throw sqliteError(err);
    }
  }

  async migrate(): Promise<void> {
    this.guard(() =>
      this.db
        .transaction(() => {
          this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
          const applied = new Set(
            this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
          );
          const known = SQLITE_MIGRATIONS.map((m) => m.version);
          if ([...applied].some((v) => !known.includes(v))) {
            throw new BkvError('INTERNAL', 'The database schema is newer than this vault');
          }
          const record = this.db.prepare(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
          );
          for (const migration of SQLITE_MIGRATIONS) {
            if (applied.has(migration.version)) continue;
            this.db.exec(migration.sql);
            record.run(migration.version, migration.name, Date.now());
          }
        })
        .immediate(),
    );
  }

  async ping(): Promise<void> {
    this.batch.assertUsable();
    this.guard(() => this.db.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    // The calls already made are committed and synced, not dropped.
    await this.batch.drain();
    this.statements.clear();
    this.db.close();
    this.wal.close();
  }

  async getRecord(userId: string): Promise<StoredRecord | null> {
    checkId(userId, 'userId');
    const row = this.guard(() => this.get('getRecord', { userId }));
    return row === undefined ? null : toStoredRecord(row);
  }

  async lastVersion(userId: string): Promise<number> {
    checkId(userId, 'userId');
    const row = this.guard(() => this.get('lastVersion', { userId }));
    return row === undefined ? 0 : int(row, 'last_version');
  }

  async putEnrollment(enrollment: PendingEnrollment): Promise<void> {
    checkEnrollment(enrollment);
    const params = enrollmentParams(enrollment);
    await this.batch.run(() => this.stmt('putEnrollment').run(params), 'FULL');
  }

  async getEnrollment(id: string, userId: string, now: Date): Promise<PendingEnrollment | null> {
    checkId(id, 'id');
    checkId(userId, 'userId');
    checkDate(now, 'now');
    const row = this.guard(() => this.get('getEnrollment', { id, userId, now: now.getTime() }));
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
    const params = recordParams(record, now);

    const commit = this.db.transaction((): CommitOutcome => {
      const consumed = this.get('consumeEnrollment', {
        id: enrollmentId,
        userId: record.userId,
        now: params.now,
      });
      if (consumed === undefined) return { kind: 'enrollment_not_found' };

      // The record changes only from the version the caller read; otherwise undo the consume.
      const written =
        expectedVersion === null
          ? this.get('insertRecord', params)
          : this.get('replaceRecord', { ...params, expectedVersion });
      if (written === undefined) throw new Conflict();
      // A version already used, before a forget or by a racing commit, is never used again.
      if (this.get('claimVersion', params) === undefined) throw new Conflict();
      this.stmt('deleteUserRecoveries').run({ userId: record.userId });
      return { kind: 'committed' };
    });

    return this.batch.run((): CommitOutcome => {
      try {
        return commit();
      } catch (err) {
        if (err instanceof Conflict) return { kind: 'conflict' };
        throw err;
      }
    }, 'FULL');
  }

  async deleteRecord(userId: string): Promise<boolean> {
    checkId(userId, 'userId');
    return this.batch.run(() => {
      const deleted = this.stmt('deleteRecord').run({ userId }).changes > 0;
      this.stmt('deleteUserEnrollments').run({ userId });
      this.stmt('deleteUserRecoveries').run({ userId });
      return deleted;
    }, 'FULL');
  }

  async startRecovery(start: StartRecovery): Promise<StartOutcome> {
    checkStart(start);
    const params = startParams(start);

    // Each attempt is a savepoint inside the call's own; one that asks for a retry has written
    // nothing. Under the batch's write lock the row cannot change between attempts, so here a
    // retry sees the same row again: the loop is the store contract's, which PostgreSQL needs.
    const attempt = this.db.transaction((): StartOutcome | undefined => {
      // Invariant 1: consume the guess first; the pending recovery is written in the same
      // transaction, so a failed insert gives the guess back.
      const consumed = this.get('consumeGuess', params);
      if (consumed !== undefined) {
        this.stmt('insertRecovery').run(params);
        return {
          kind: 'started',
          guessesRemaining: int(consumed, 'guesses_remaining'),
          oprfPublicKey: bytes(consumed, 'oprf_public_key'),
          wrappedOprfKey: bytes(consumed, 'wrapped_oprf_key'),
          wrapKeyId: int(consumed, 'wrap_key_id'),
        };
      }

      const refusal = classifyRefusedStart(this.get('readForRefusal', params), start);
      if (refusal.kind === 'retry') return undefined;
      if (refusal.kind !== 'exhausted') return refusal;

      // Invariant 4: a start when none are left destroys the record in this transaction.
      const lockedAt = this.destroyExhausted(params);
      return lockedAt === null ? undefined : { kind: 'locked', lockedAt, destroyedNow: true };
    });

    // Invariant 1 again: the batch resolves this only once a WAL sync begun after its commit
    // has finished (FULL).
    return this.batch.run(() => {
      for (let i = 0; i < START_ATTEMPTS; i += 1) {
        const outcome = attempt();
        if (outcome !== undefined) return outcome;
      }
      throw new BkvError('STORE_UNAVAILABLE', 'The record kept changing during a start');
    }, 'FULL');
  }

  async takeRecovery(
    recoveryId: string,
    userId: string,
    now: Date,
  ): Promise<PendingRecoveryTaken | null> {
    checkRecoveryRef(recoveryId, userId, now);
    return this.batch.run((): PendingRecoveryTaken | null => {
      const taken = this.get('takeRecovery', { recoveryId, userId, now: now.getTime() });
      if (taken === undefined) return null;
      const version = int(taken, 'version');
      const record = this.get('sealedAt', { userId, version });
      if (record === undefined) return null;
      return toPendingRecovery(userId, { version, sealed: record.sealed });
    }, MAY_SKIP_SYNC);
  }

  async peekRecovery(
    recoveryId: string,
    userId: string,
    now: Date,
  ): Promise<PendingRecoveryTaken | null> {
    checkRecoveryRef(recoveryId, userId, now);
    const row = this.guard(() =>
      this.get('peekRecovery', { recoveryId, userId, now: now.getTime() }),
    );
    if (row === undefined) return null;
    return toPendingRecovery(userId, row);
  }

  async recordRightGuess(userId: string, version: number, now: Date): Promise<void> {
    checkGuess(userId, version, now);
    const params = { userId, version, now: now.getTime() };
    await this.batch.run(() => this.stmt('rightGuess').run(params), MAY_SKIP_SYNC);
  }

  async recordWrongGuess(userId: string, version: number, now: Date): Promise<WrongGuessOutcome> {
    checkGuess(userId, version, now);
    const params = { userId, version, now: now.getTime() };

    return this.batch.run((): WrongGuessOutcome => {
      // Invariant 4: the guess was counted at start; with none left, destroy now.
      const lockedAt = this.destroyExhausted(params);
      if (lockedAt !== null) return { kind: 'locked', lockedAt, destroyedNow: true };

      const row = this.get('readForRefusal', params);
      if (row?.state === 'locked') {
        return { kind: 'locked', lockedAt: time(row, 'locked_at'), destroyedNow: false };
      }
      if (row === undefined || int(row, 'version') !== version) throw recoveryGone();
      return {
        kind: 'counted',
        guessesRemaining: int(row, 'guess_limit') - int(row, 'guesses_used'),
      };
    }, 'FULL');
  }

  async purgeExpired(now: Date): Promise<number> {
    checkDate(now, 'now');
    const params = { now: now.getTime() };
    return this.batch.run(() => {
      const enrollments = this.stmt('purgeEnrollments').run(params).changes;
      return enrollments + this.stmt('purgeRecoveries').run(params).changes;
    }, 'FULL');
  }

  /** The conditional destroy and its pending recoveries; the lock time, or null if refused. */
  private destroyExhausted(params: { userId: string; version: number; now: number }): Date | null {
    const destroyed = this.get('destroyExhausted', params);
    if (destroyed === undefined) return null;
    this.stmt('deleteUserRecoveries').run({ userId: params.userId });
    return time(destroyed, 'locked_at');
  }

  private stmt(name: keyof typeof SQL): Database.Statement {
    let statement = this.statements.get(name);
    if (statement === undefined) {
      statement = this.db.prepare(SQL[name]);
      this.statements.set(name, statement);
    }
    return statement;
  }

  private get(name: keyof typeof SQL, params: object): Row | undefined {
    return this.stmt(name).get(params) as Row | undefined;
  }

  /** Runs synchronous database work, turning driver errors into the project's codes. */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw sqliteError(err);
    }
  }
}
