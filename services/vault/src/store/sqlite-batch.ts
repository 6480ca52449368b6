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
 * The WAL of `databaseFile`, synced with fdatasync (what SQLite itself calls for a FULL
 * commit on Linux) on the libuv thread pool, so the event loop never waits for the disk. The
 * log is opened at the first sync, after a commit has made sure it exists, and stays open:
 * SQLite keeps the same file while any connection is open, resetting it in place after a
 * checkpoint, and closing it here is left until after the connection has closed.
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
 * - If the sync fails, the FULL calls it covered reject with STORE_UNAVAILABLE: their writes
 *   are committed and seen by later reads, but whether they survive a power cut is unknown,
 *   so nothing that depends on them is answered.
 * - Errors reach the caller mapped to the store's codes (`sqliteError`).
 *
 * `work` must not await (better-sqlite3 refuses a promise) and must not call `run` itself.
 */
export class SqliteBatch {
  private readonly queue: Call[] = [];
  private scheduled = false;
  private readonly unsynced: Unsynced[] = [];
  private syncing = false;
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
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, sync, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
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
    this.wal.sync((err) => {
      this.syncing = false;
      for (const { call, value } of covered) {
        if (err === null) call.resolve(value);
        else
          call.reject(
            new BkvError('STORE_UNAVAILABLE', 'The disk did not confirm a write', {}, err),
          );
      }
      this.startSync();
      if (!this.syncing) for (const resolve of this.whenSynced.splice(0)) resolve();
    });
  }
}
