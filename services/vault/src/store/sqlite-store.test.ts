/**
 * The store contract against SQLite files in a temporary folder. Racing starts run in worker
 * threads, each with its own connection to the same file, as separate processes would.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { openStore } from './open-store';
import { MAX_BATCH_CALLS, type WalSync } from './sqlite-batch';
import { holdSyncs, turns, walCommits } from './sqlite-fixtures';
import { SQLITE_MIGRATIONS } from './sqlite-schema';
import { SqliteStore } from './sqlite-store';
import { storeContract, type StoreHarness } from './store.contract';
import { at, enrolled, enrollmentFor, recordFrom, startOf } from './store-fixtures';
import type { StartOutcome, StartRecovery } from './store';

const WORKERS = 4;

let folder: string;
let harness: StoreHarness;
let raw: Database.Database;

beforeAll(async () => {
  folder = mkdtempSync(path.join(tmpdir(), 'bkv-sqlite-'));
  const file = path.join(folder, 'vault.sqlite');
  const store = await openStore({ kind: 'sqlite', path: file });
  raw = new Database(file, { readonly: true });
  harness = {
    store,
    rawRecord: async (userId) =>
      raw.prepare('SELECT * FROM records WHERE user_id = ?').get(userId) as
        Record<string, unknown> | undefined,
    raceStarts: (starts) => raceInWorkers(file, starts),
  };
});

afterAll(async () => {
  raw?.close();
  await harness?.store.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  storeContract(() => harness);

  it('migrates a file that several stores open at once', async () => {
    const file = path.join(folder, 'shared.sqlite');
    const stores = Array.from({ length: 3 }, () => new SqliteStore({ path: file }));
    await Promise.all(stores.map((s) => s.migrate()));
    await enrolled(stores[0]!);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("remembers an existing record's version when it adds record generations", async () => {
    // A file as the first schema left it, with a tombstone at version 4.
    const file = path.join(folder, 'first-schema.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    old.exec(SQLITE_MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(SQLITE_MIGRATIONS[0]!.name);
    old.exec(`INSERT INTO records (user_id, version, state, kdf, guess_limit, wrap_key_id,
      created_at, updated_at, locked_at) VALUES ('user-old', 4, 'locked', '{}', 1, 1, 0, 0, 0)`);
    old.close();

    const store = new SqliteStore({ path: file });
    await store.migrate();
    await store.deleteRecord('user-old');
    expect(await store.lastVersion('user-old')).toBe(4);
    await store.close();
  });

  it('keeps the connection in WAL mode at synchronous = NORMAL', () => {
    const db = (harness.store as unknown as { db: Database.Database }).db;
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('syncs the WAL beside the file SQLite opened when its path is a symlink', async () => {
    const real = mkdtempSync(path.join(folder, 'real-'));
    const linked = mkdtempSync(path.join(folder, 'linked-'));
    const target = path.join(real, 'vault.sqlite');
    writeFileSync(target, '');
    symlinkSync(target, path.join(linked, 'vault.sqlite'));
    const store = new SqliteStore({ path: path.join(linked, 'vault.sqlite') });
    try {
      await store.migrate();
      // Every enrollment write waits for a sync, which would find no WAL beside the link.
      await enrolled(store);
      expect(existsSync(`${target}-wal`)).toBe(true);
      expect(existsSync(path.join(linked, 'vault.sqlite-wal'))).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('reports a file it cannot open as STORE_UNAVAILABLE', () => {
    const file = path.join(folder, 'missing-folder', 'vault.sqlite');
    let thrown: unknown;
    try {
      new SqliteStore({ path: file });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

/** The writes of one event-loop turn, on a file of their own so that the WAL counts only them. */
describe('SqliteStore group commit', () => {
  let file: string;
  let store: SqliteStore;

  beforeEach(async () => {
    file = path.join(
      folder,
      `batch-${expect.getState().currentTestName?.replace(/\W+/g, '-')}.sqlite`,
    );
    store = new SqliteStore({ path: file, busyTimeoutMs: 50 });
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
  });

  /** Enrolls `count` users one after another, each with `guessLimit` guesses. */
  async function users(count: number, guessLimit = 10): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) ids.push((await enrolled(store, guessLimit)).userId);
    return ids;
  }

  async function guessesUsed(userId: string): Promise<number | undefined> {
    const record = await store.getRecord(userId);
    return record?.state === 'active' ? record.guessesUsed : undefined;
  }

  it('commits the starts, and then the finishes, of one turn in one transaction each', async () => {
    const ids = await users(20);
    const before = walCommits(file);
    const starts = ids.map((userId) => startOf(userId, at(2000)));
    const started = await Promise.all(starts.map((start) => store.startRecovery(start)));
    expect(started.every((o) => o.kind === 'started' && o.guessesRemaining === 9)).toBe(true);
    expect(walCommits(file)).toBe(before + 1);

    const taken = await Promise.all(
      starts.map((start) => store.takeRecovery(start.recoveryId, start.userId, at(2001))),
    );
    expect(taken.every((t) => t !== null)).toBe(true);
    await Promise.all(ids.map((userId) => store.recordRightGuess(userId, 1, at(2002))));
    expect(walCommits(file)).toBe(before + 3);
    for (const userId of ids) expect(await guessesUsed(userId)).toBe(0);
  });

  it('answers a counted guess only once it is on the disk, a spent recovery at once', async () => {
    const [a, b] = await users(2);
    const syncs = holdSyncs((store as unknown as { wal: WalSync }).wal);
    const answered: string[] = [];
    const note = <T>(what: string, p: Promise<T>) =>
      p.then((v) => {
        answered.push(what);
        return v;
      });

    const start = startOf(a!, at(2000));
    const started = note('start', store.startRecovery(start));
    const wrong = note('wrong guess', store.recordWrongGuess(b!, 1, at(2000)));
    await turns();
    expect(answered).toEqual([]);
    await syncs.release();
    await Promise.all([started, wrong]);
    expect(answered).toEqual(['start', 'wrong guess']);

    // Taking the pending recovery and the right guess's reset may be lost to a power cut.
    answered.length = 0;
    await note('take', store.takeRecovery(start.recoveryId, a!, at(2001)));
    await note('right guess', store.recordRightGuess(a!, 1, at(2002)));
    const forgotten = note('forget', store.deleteRecord(b!));
    await turns();
    expect(answered).toEqual(['take', 'right guess']);
    await syncs.release();
    await forgotten;
    expect(syncs.asked).toBe(2);
  });

  it('answers no start and reports itself unready after a failed WAL sync', async () => {
    const [a, b] = await users(2);
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const syncs = holdSyncs((store as unknown as { wal: WalSync }).wal, eio);
    const started = store.startRecovery(startOf(a!, at(2000)));
    await turns();
    await syncs.release();
    await expect(started).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.startRecovery(startOf(b!, at(2001)))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // The second start never ran: its guess is untouched.
    expect(await guessesUsed(b!)).toBe(0);
  });

  it("keeps the other calls' writes when one call of the batch fails", async () => {
    const [a, b, c, d] = await users(4);
    const first = startOf(a!, at(2000));
    // Passes every check, consumes b's guess, then fails on the pending recovery's key.
    const duplicate = { ...startOf(b!, at(2000)), recoveryId: first.recoveryId };
    const next = enrollmentFor(d!);
    await store.putEnrollment(next);
    const before = walCommits(file);

    const outcomes = await Promise.allSettled([
      store.startRecovery(first),
      store.startRecovery(duplicate),
      store.commitEnrollment(next.id, 3, recordFrom(next, 4), at(2000)),
      store.startRecovery(startOf(c!, at(2000))),
    ]);
    expect(outcomes).toMatchObject([
      { status: 'fulfilled', value: { kind: 'started' } },
      { status: 'rejected', reason: { code: 'INTERNAL' } },
      { status: 'fulfilled', value: { kind: 'conflict' } },
      { status: 'fulfilled', value: { kind: 'started' } },
    ]);
    expect(walCommits(file)).toBe(before + 1);
    expect([await guessesUsed(a!), await guessesUsed(b!), await guessesUsed(c!)]).toEqual([
      1, 0, 1,
    ]);
    // The conflict gave its consumed enrollment back.
    expect(await store.getEnrollment(next.id, d!, at(2001))).not.toBeNull();
  });

  it('rejects every call of a batch that cannot take the write lock, and keeps none', async () => {
    const ids = await users(3);
    const before = walCommits(file);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const outcomes = await Promise.allSettled([
      ...ids.map((userId) => store.startRecovery(startOf(userId, at(2000)))),
      store.recordRightGuess(ids[0]!, 1, at(2000)),
    ]);
    other.exec('ROLLBACK');
    other.close();

    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
    }
    expect(walCommits(file)).toBe(before);
    for (const userId of ids) expect(await guessesUsed(userId)).toBe(0);
    expect(await store.startRecovery(startOf(ids[0]!, at(3000)))).toMatchObject({
      kind: 'started',
      guessesRemaining: 9,
    });
  });

  it('rejects every call of a batch when the disk fills, and keeps no guess of it', async () => {
    const [userId] = await users(1, 1000);
    const db = (store as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const before = walCommits(file);
    const starts = Array.from({ length: 200 }, () => startOf(userId!, at(2000)));
    const outcomes = await Promise.allSettled(starts.map((start) => store.startRecovery(start)));
    db.pragma('max_page_count = 1000000');

    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
    }
    expect(walCommits(file)).toBe(before);
    expect(await guessesUsed(userId!)).toBe(0);
    expect(await store.takeRecovery(starts[0]!.recoveryId, userId!, at(2001))).toBeNull();
  });

  it('never starts more recoveries than guesses left when the starts share a batch', async () => {
    const [userId] = await users(1, 15);
    for (let i = 0; i < 5; i += 1) await store.startRecovery(startOf(userId!, at(2000)));
    const before = walCommits(file);

    const starts = Array.from({ length: 100 }, () => startOf(userId!, at(3000)));
    const outcomes = await Promise.all(starts.map((start) => store.startRecovery(start)));
    const remaining = outcomes.flatMap((o) => (o.kind === 'started' ? [o.guessesRemaining] : []));
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(outcomes.filter((o) => o.kind === 'locked' && o.destroyedNow)).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'locked' && !o.destroyedNow)).toHaveLength(89);
    expect(walCommits(file)).toBe(before + 1);
    expect(await store.getRecord(userId!)).toMatchObject({ state: 'locked' });
  });

  it(`splits a turn of more than ${MAX_BATCH_CALLS} starts into batches`, async () => {
    const total = MAX_BATCH_CALLS + 44;
    const [userId] = await users(1, total + 10);
    const before = walCommits(file);
    const starts = Array.from({ length: total }, () => startOf(userId!, at(2000)));
    const outcomes = await Promise.all(starts.map((start) => store.startRecovery(start)));
    const remaining = outcomes.map((o) => (o.kind === 'started' ? o.guessesRemaining : -1));
    expect(remaining).toEqual(Array.from({ length: total }, (_, i) => total + 9 - i));
    expect(walCommits(file)).toBe(before + 2);
  });

  it('commits the calls already made when it closes', async () => {
    const [userId] = await users(1);
    const pending = store.startRecovery(startOf(userId!, at(2000)));
    await store.close();
    expect(await pending).toMatchObject({ kind: 'started', guessesRemaining: 9 });

    store = new SqliteStore({ path: file });
    expect(await guessesUsed(userId!)).toBe(1);
  });
});

/** Splits the starts among worker threads that begin together and return every outcome. */
async function raceInWorkers(file: string, starts: StartRecovery[]): Promise<StartOutcome[]> {
  const gate = new SharedArrayBuffer(8);
  const shares = Array.from({ length: WORKERS }, (_, i) =>
    starts.filter((_, j) => j % WORKERS === i),
  );
  const workers = shares.map(
    (share) =>
      new Worker(path.join(__dirname, 'sqlite-race-worker.js'), {
        workerData: {
          path: file,
          starts: share,
          gate,
          storeModule: path.join(__dirname, 'sqlite-store.ts'),
          aliases: {
            '@bkv/protocol': path.resolve(__dirname, '../../../../packages/protocol/src'),
          },
        },
      }),
  );
  const results = workers.map(
    (worker) =>
      new Promise<StartOutcome[]>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
  );

  // Open the gate once every worker has its store open.
  const counter = new Int32Array(gate);
  while (Atomics.load(counter, 1) < WORKERS) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(counter, 0, 1);
  Atomics.notify(counter, 0);

  const began = process.hrtime.bigint();
  const outcomes = (await Promise.all(results)).flat();
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  console.info(`${starts.length} starts in ${WORKERS} threads after the gate: ${ms.toFixed(0)} ms`);
  await Promise.all(workers.map((worker) => worker.terminate()));
  return outcomes;
}
