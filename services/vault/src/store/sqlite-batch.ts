/**
 * Group commit for the SQLite store: the writes that arrive in one turn of the event loop
 * share one `BEGIN IMMEDIATE ... COMMIT`, so that 32 concurrent recoveries cost one fsync
 * instead of 32; and that fsync runs on the thread pool, so the loop spends its time on the
 * next requests rather than waiting for the disk.
 */
import type Database from 'better-sqlite3';
import { closeSync, fdatasync, openSync } from 'node:fs';
import { BkvError } from '@bkv/protocol';

import { sqliteError } from './sqlite-errors';

/**
 * What a write needs before its caller hears of it: `FULL`, that its WAL frames are on the
 * disk; `NORMAL`, only that it committed (a power cut may lose it; the next synced write or
 * checkpoint makes it durable too).
 */
export type SyncLevel = 'FULL' | 'NORMAL';

/**
 * Makes the WAL's committed frames durable. The batch commits at `synchronous = NORMAL`, so
 * that COMMIT returns without an fsync, and asks for this sync before it answers a FULL call.
 */
export interface WalSync {
  /** Syncs everything written to the WAL so far; calls back once it is on the disk. */
  sync(done: (err: Error | null) => void): void;
  close(): void;
}

/**
 * The WAL of `databaseFile` (the path SQLite resolved, symlinks followed), synced with
 * fdatasync (what SQLite itself calls for a FULL commit on Linux) on the libuv thread pool, so
 * that the event loop does not wait for the disk at each commit; it still does in the
 * checkpoints SQLite runs inside a COMMIT once the log passes 1000 pages. The log is opened at
 * the first sync, after a commit has made sure it exists, and stays open: SQLite keeps the
 * same file while any connection is open, resetting it in place after a checkpoint, and takes
 * no POSIX lock on it, so closing it here (after the connection) releases nothing of SQLite's.
 */
export function walFileSync(databaseFile: string): WalSync {
  let fd: number | undefined;
  return {
    sync(done) {
      try {
        fd ??= openSync(`${databaseFile}-wal`, 'r');
      } catch (err) {
        done(err as Error);
        return;
      }
      fdatasync(fd, done);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** The most calls one COMMIT carries; the rest wait for the next turn, not for this fsync. */
export const MAX_BATCH_CALLS = 256;

interface Call {
  work: () => unknown;
  sync: SyncLevel;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A FULL call that has committed and waits for its frames to reach the disk. */
interface Unsynced {
  call: Call;
  value: unknown;
}

/**
 * Runs synchronous database work in batches on one connection at `synchronous = NORMAL` in
 * WAL mode. The contract, for each call of `run`:
 *
 * - `work` runs inside its own SAVEPOINT of the batch's transaction, in the order of the calls.
 *   If it throws, only its own writes are rolled back and only its promise rejects.
 * - A FULL call's promise resolves only after its batch committed and a WAL sync begun after
 *   that commit has finished: a resolved FULL write is on the disk. A NORMAL call's resolves at
 *   its commit. Syncs run one at a time; the commits made while one runs share the next.
 * - If BEGIN or COMMIT fails, or an error (a full disk, I/O) ends the whole transaction, no
 *   call of the batch is kept and every one rejects with that error. The caller may retry.
 * - If a sync fails, the batch stops for good: the FULL calls it covered, those waiting for
 *   the next sync and every later call reject with STORE_UNAVAILABLE, and `assertUsable`
 *   throws (readiness fails). Their writes are committed and seen by reads, but not known to
 *   be on the disk; and Linux reports a failed writeback once, so a later sync could succeed
 *   over frames that were lost, and WAL recovery after a power cut drops every frame after
 *   them. Only a restart, which recovers the WAL from what the disk holds, is safe.
 * - Errors reach the caller mapped to the store's codes (`sqliteError`).
 *
 * `work` must not await (better-sqlite3 refuses a promise) and must not call `run` itself.
 */
export class SqliteBatch {
  private readonly queue: Call[] = [];
  private scheduled = false;
  private readonly unsynced: Unsynced[] = [];
  private syncing = false;
  private failure: BkvError | undefined;
  private readonly whenSynced: Array<() => void> = [];
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  /** Inside the batch's transaction, better-sqlite3 runs a transaction function as a SAVEPOINT. */
  private readonly savepoint: (work: () => unknown) => unknown;

  constructor(
    private readonly db: Database.Database,
    private readonly wal: WalSync,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.transaction((work: () => unknown) => work());
  }

  /** Queues `work` for the batch of this turn; resolves with its result as `sync` says. */
  run<T>(work: () => T, sync: SyncLevel): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, sync, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Throws the failed sync's error once one has failed. */
  assertUsable(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Commits every queued call now, batch after batch, and resolves once every FULL call is
   * on the disk and answered; for closing the connection.
   */
  drain(): Promise<void> {
    while (this.queue.length > 0) this.flush();
    if (!this.syncing) return Promise.resolve();
    return new Promise((resolve) => this.whenSynced.push(resolve));
  }

  /**
   * setImmediate, not a microtask: Node drains the microtask queue after every I/O callback,
   * so a microtask flush would commit each request's call on its own. setImmediate runs after
   * the poll phase has handed out all the I/O of this turn, which is what there is to group.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
      // What is left runs in a later turn, after this batch's callers have had their answers.
      if (this.queue.length > 0) this.schedule();
    });
  }

  private flush(): void {
    const calls = this.queue.splice(0, MAX_BATCH_CALLS);
    if (calls.length === 0) return;

    let settled: Settled[];
    try {
      settled = this.transact(calls);
    } catch (err) {
      for (const call of calls) call.reject(sqliteError(err));
      return;
    }
    calls.forEach((call, i) => {
      const outcome = settled[i]!;
      if (!outcome.ok) call.reject(sqliteError(outcome.error));
      else if (call.sync === 'NORMAL') call.resolve(outcome.value);
      else this.unsynced.push({ call, value: outcome.value });
    });
    this.startSync();
  }

  /** One transaction over `calls`; throws when none of them was kept. */
  private transact(calls: Call[]): Settled[] {
    this.begin.run();
    try {
      const settled = calls.map((call) => this.settle(call));
      this.commit.run();
      return settled;
    } catch (err) {
      // A failed COMMIT may leave the transaction open (a deferred constraint, say).
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
  }

  private settle(call: Call): Settled {
    try {
      return { ok: true, value: this.savepoint(call.work) };
    } catch (error) {
      // SQLITE_FULL and I/O errors roll back the whole transaction, not just the savepoint:
      // the calls before this one are gone too, and those after it must not autocommit.
      if (!this.db.inTransaction) throw error;
      return { ok: false, error };
    }
  }

  /**
   * Syncs the WAL for the FULL calls committed so far, unless a sync is running: that one may
   * have begun before their commit, so they wait for the next, which starts when it ends.
   */
  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const covered = this.unsynced.splice(0);
    this.syncing = true;
    const synced = (err: Error | null) => {
      this.syncing = false;
      if (err !== null) {
        this.stop(err, covered);
        return;
      }
      for (const { call, value } of covered) call.resolve(value);
      this.startSync();
      if (!this.syncing) for (const resolve of this.whenSynced.splice(0)) resolve();
    };
    try {
      this.wal.sync(synced);
    } catch (err) {
      synced(err as Error);
    }
  }

  /** After a failed sync: nothing more is answered as written, and nothing more is written. */
  private stop(cause: Error, covered: Unsynced[]): void {
    this.failure = new BkvError(
      'STORE_UNAVAILABLE',
      'A WAL sync failed: restart the vault once the disk is sound',
      {},
      cause,
    );
    for (const { call } of [...covered, ...this.unsynced.splice(0)]) call.reject(this.failure);
    for (const call of this.queue.splice(0)) call.reject(this.failure);
    for (const resolve of this.whenSynced.splice(0)) resolve();
  }
}
