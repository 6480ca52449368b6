/**
 * Group commit for the SQLite store: the writes that arrive in one turn of the event loop
 * share one `BEGIN IMMEDIATE ... COMMIT`, so that 32 concurrent recoveries cost one fsync
 * instead of 32, and the loop spends its time on them rather than waiting for the disk.
 */
import type Database from 'better-sqlite3';

import { sqliteError } from './sqlite-errors';

/**
 * How long COMMIT waits for the disk: `FULL` syncs the WAL before it returns; `NORMAL` leaves
 * the frames to the next FULL commit or checkpoint, so a power cut may lose them.
 */
export type SyncLevel = 'FULL' | 'NORMAL';

/** The most calls one COMMIT carries; the rest wait for the next turn, not for this fsync. */
export const MAX_BATCH_CALLS = 256;

interface Call {
  work: () => unknown;
  sync: SyncLevel;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs synchronous database work in batches on one connection whose standing sync level is
 * FULL. The contract, for each call of `run`:
 *
 * - `work` runs inside its own SAVEPOINT of the batch's transaction, in the order of the calls.
 *   If it throws, only its own writes are rolled back and only its promise rejects.
 * - Its promise settles only after the batch's COMMIT returned: a resolved write is on disk
 *   at the sync level of its batch, which is FULL unless every call in it asked for NORMAL.
 * - If BEGIN or COMMIT fails, or an error (a full disk, I/O) ends the whole transaction, no
 *   call of the batch is kept and every one rejects with that error. The caller may retry.
 * - Errors reach the caller mapped to the store's codes (`sqliteError`).
 *
 * `work` must not await (better-sqlite3 refuses a promise) and must not call `run` itself.
 */
export class SqliteBatch {
  private readonly queue: Call[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  /** Inside the batch's transaction, better-sqlite3 runs a transaction function as a SAVEPOINT. */
  private readonly savepoint: (work: () => unknown) => unknown;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.transaction((work: () => unknown) => work());
  }

  /** Queues `work` for the batch of this turn; resolves with its result once committed. */
  run<T>(work: () => T, sync: SyncLevel): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, sync, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Commits every queued call now, batch after batch; for closing the connection. */
  drain(): void {
    while (this.queue.length > 0) this.flush();
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
    const sync = calls.some((call) => call.sync === 'FULL') ? 'FULL' : 'NORMAL';

    let settled: Settled[];
    try {
      settled = this.transact(calls, sync);
    } catch (err) {
      for (const call of calls) call.reject(sqliteError(err));
      return;
    }
    calls.forEach((call, i) => {
      const outcome = settled[i]!;
      if (outcome.ok) call.resolve(outcome.value);
      else call.reject(sqliteError(outcome.error));
    });
  }

  /** One transaction over `calls`; throws when none of them was kept. */
  private transact(calls: Call[], sync: SyncLevel): Settled[] {
    // SQLite refuses to change the level inside a transaction, so it is set before BEGIN.
    if (sync === 'NORMAL') this.db.pragma('synchronous = NORMAL');
    try {
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
    } finally {
      if (sync === 'NORMAL') this.db.pragma('synchronous = FULL');
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
}
