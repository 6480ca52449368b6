/**
 * The batch on its own, over a SQLite file whose schema each test controls, so that a COMMIT
 * can be made to fail. Commits are counted in the file's WAL; the WAL syncs are real, and held
 * where a test needs to see what waits for them.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { MAX_BATCH_CALLS, SqliteBatch, type WalSync, walFileSync } from './sqlite-batch';
import { holdSyncs, turns, walCommits } from './sqlite-fixtures';

let folder: string;
let file: string;
let db: Database.Database;
let wal: WalSync;
let batch: SqliteBatch;

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'bkv-batch-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

// A file per test, so that no checkpoint resets the WAL that the counts read.
beforeEach(() => {
  file = path.join(folder, `${expect.getState().currentTestName?.replace(/\W+/g, '-')}.sqlite`);
  db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE notes (id TEXT PRIMARY KEY, body BLOB);
    CREATE TABLE parents (id TEXT PRIMARY KEY);
    CREATE TABLE children (parent TEXT REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)`);
  wal = walFileSync(file);
  batch = new SqliteBatch(db, wal);
});

afterEach(() => {
  db.close();
  wal.close();
});

function insert(id: string, body: Uint8Array = new Uint8Array(8)): () => string {
  return () => {
    db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)').run(id, body);
    return id;
  };
}

function ids(): string[] {
  return db.prepare('SELECT id FROM notes ORDER BY id').pluck().all() as string[];
}

describe('SqliteBatch', () => {
  it('commits the calls of one turn in one transaction, in order', async () => {
    const before = walCommits(file);
    const names = Array.from({ length: 10 }, (_, i) => `note-${i}`);
    expect(await Promise.all(names.map((id) => batch.run(insert(id), 'FULL')))).toEqual(names);
    expect(walCommits(file)).toBe(before + 1);
    expect(ids()).toEqual(names);
  });

  it('groups calls made from separate callbacks of one loop turn', async () => {
    // Node runs the microtasks between two callbacks: a microtask flush would commit twice.
    const before = walCommits(file);
    const calls = ['a', 'b'].map(
      (id) =>
        new Promise<string>((resolve, reject) => {
          setTimeout(() => {
            batch.run(insert(id), 'FULL').then(resolve, reject);
          }, 1);
        }),
    );
    // Both timers are due by the time the loop looks, even if a millisecond ticked between them.
    const due = Date.now() + 5;
    while (Date.now() < due);
    await Promise.all(calls);
    expect(walCommits(file)).toBe(before + 1);
  });

  it('rolls back only the call that throws and rejects only its promise', async () => {
    const failing = () => {
      insert('b')();
      throw new Error('refused after writing');
    };
    const outcomes = await Promise.allSettled([
      batch.run(insert('a'), 'FULL'),
      batch.run(failing, 'FULL'),
      batch.run(insert('c'), 'FULL'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ reason: { code: 'INTERNAL' } });
    expect(ids()).toEqual(['a', 'c']);
  });

  it('rejects every call and keeps none when COMMIT fails', async () => {
    const before = walCommits(file);
    const orphan = () => db.prepare("INSERT INTO children (parent) VALUES ('nobody')").run();
    const outcomes = await Promise.allSettled([
      batch.run(insert('a'), 'FULL'),
      // A deferred foreign key is checked at COMMIT, and the transaction stays open after it.
      batch.run(orphan, 'FULL'),
      batch.run(insert('c'), 'FULL'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(ids()).toEqual([]);
    expect(walCommits(file)).toBe(before);

    expect(db.inTransaction).toBe(false);
    await batch.run(insert('d'), 'FULL');
    expect(ids()).toEqual(['d']);
  });

  it('rejects every call and keeps none when the disk fills in the middle of a batch', async () => {
    // SQLITE_FULL ends the whole transaction, not only the savepoint of the call that hit it.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const big = new Uint8Array(3000);
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd', 'e'].map((id) => batch.run(insert(id, big), 'FULL')),
    );
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
    }
    // The calls after the one that failed did not run on their own, outside a transaction.
    expect(ids()).toEqual([]);

    db.pragma('max_page_count = 1000000');
    await batch.run(insert('f', big), 'FULL');
    expect(ids()).toEqual(['f']);
  });

  it('rejects every call when BEGIN fails', async () => {
    const other = new Database(file);
    db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    const outcomes = await Promise.allSettled([
      batch.run(insert('a'), 'FULL'),
      batch.run(insert('b'), 'NORMAL'),
    ]);
    other.exec('ROLLBACK');
    other.close();
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
    }
    expect(ids()).toEqual([]);
  });

  it('answers a FULL call only after a WAL sync begun after its commit', async () => {
    const syncs = holdSyncs(wal);
    const before = walCommits(file);
    let answered = false;
    const call = batch.run(insert('a'), 'FULL').then(() => (answered = true));
    await turns();
    expect(walCommits(file)).toBe(before + 1);
    expect(syncs.asked).toBe(1);
    expect(answered).toBe(false);
    await syncs.release();
    await call;
    expect(answered).toBe(true);
  });

  it('answers NORMAL calls at their commit and asks no sync for a batch of only them', async () => {
    const syncs = holdSyncs(wal);
    expect(
      await Promise.all([batch.run(insert('a'), 'NORMAL'), batch.run(insert('b'), 'NORMAL')]),
    ).toEqual(['a', 'b']);
    expect(syncs.asked).toBe(0);

    let full = false;
    const mixed = [
      batch.run(insert('c'), 'NORMAL'),
      batch.run(insert('d'), 'FULL').then(() => (full = true)),
    ];
    expect(await mixed[0]).toBe('c');
    expect(full).toBe(false);
    await syncs.release();
    await mixed[1];
    expect(full).toBe(true);
  });

  it('lets the commits made while a sync runs wait for the next one', async () => {
    const syncs = holdSyncs(wal);
    const answered: string[] = [];
    const first = batch.run(insert('a'), 'FULL').then((id) => answered.push(id));
    await turns();
    // Committed while the first sync may already have passed over the WAL's end.
    const second = batch.run(insert('b'), 'FULL').then((id) => answered.push(id));
    await turns();
    expect(ids()).toEqual(['a', 'b']);
    expect(syncs.asked).toBe(1);

    await syncs.release();
    await first;
    await turns();
    expect(answered).toEqual(['a']);
    expect(syncs.asked).toBe(2);
    await syncs.release();
    await second;
    expect(answered).toEqual(['a', 'b']);
  });

  it('stops for good after a failed sync, though a later sync would succeed', async () => {
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const syncs = holdSyncs(wal, eio);
    const first = Promise.allSettled([
      batch.run(insert('a'), 'FULL'),
      batch.run(insert('b'), 'NORMAL'),
    ]);
    await turns();
    // Committed while the failing sync runs: it waits for a sync that must not vouch for it.
    const waiting = batch.run(insert('c'), 'FULL');
    await turns();
    await syncs.release();
    expect(await first).toMatchObject([
      { status: 'rejected', reason: { code: 'STORE_UNAVAILABLE', cause: eio } },
      { status: 'fulfilled', value: 'b' },
    ]);
    await expect(waiting).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // Committed, so reads see them; only the promise that they are on the disk was not kept.
    expect(ids()).toEqual(['a', 'b', 'c']);

    await expect(batch.run(insert('d'), 'NORMAL')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    expect(() => batch.assertUsable()).toThrow(/WAL sync failed/);
    expect(ids()).toEqual(['a', 'b', 'c']);
    expect(syncs.asked).toBe(1);
    await batch.drain();
  });

  it('treats a sync that throws as a failed one, not as one still running', async () => {
    wal.sync = () => {
      throw new Error('EBADF: bad file descriptor');
    };
    await expect(batch.run(insert('a'), 'FULL')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    await batch.drain();
  });

  it("syncs the connection's own WAL file", async () => {
    // Linux names each open file in /proc: the sync opens one more descriptor on the WAL.
    const onWal = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === `${file}-wal`;
        } catch {
          return false;
        }
      }).length;
    await batch.run(insert('a'), 'NORMAL');
    const sqliteOwn = onWal();
    expect(sqliteOwn).toBeGreaterThan(0);
    await batch.run(insert('b'), 'FULL');
    expect(onWal()).toBe(sqliteOwn + 1);
    wal.close();
    expect(onWal()).toBe(sqliteOwn);
  });

  it(`commits the first ${MAX_BATCH_CALLS} calls of a turn before it runs the rest`, async () => {
    const before = walCommits(file);
    const total = MAX_BATCH_CALLS + 44;
    let seenAtFirstAnswer = -1;
    // NORMAL calls are answered at their commit, before the next batch has run.
    const calls = Array.from({ length: total }, (_, i) =>
      batch.run(insert(`note-${String(i).padStart(3, '0')}`), 'NORMAL'),
    );
    const first = calls[0]!.then(() => {
      seenAtFirstAnswer = db.prepare('SELECT count(*) FROM notes').pluck().get() as number;
    });
    await Promise.all([first, ...calls]);
    expect(seenAtFirstAnswer).toBe(MAX_BATCH_CALLS);
    expect(walCommits(file)).toBe(before + 2);
    expect(ids()).toHaveLength(total);
  });

  it('commits every queued call when drained, and resolves once each is answered', async () => {
    const before = walCommits(file);
    const syncs = holdSyncs(wal);
    const answered: string[] = [];
    const calls = [batch.run(insert('a'), 'FULL'), batch.run(insert('b'), 'NORMAL')].map((c) =>
      c.then((id) => answered.push(id)),
    );
    let drained = false;
    const drain = batch.drain().then(() => (drained = true));
    expect(walCommits(file)).toBe(before + 1);
    await turns();
    expect([drained, answered]).toEqual([false, ['b']]);
    await syncs.release();
    await drain;
    await Promise.all(calls);
    expect(answered).toEqual(['b', 'a']);
  });
});
