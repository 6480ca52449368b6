/**
 * The store contract against SQLite files in a temporary folder. Racing starts run in worker
 * threads, each with its own connection to the same file, as separate processes would.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { openStore } from './open-store';
import { SQLITE_MIGRATIONS } from './sqlite-schema';
import { SqliteStore } from './sqlite-store';
import { storeContract, type StoreHarness } from './store.contract';
import { enrolled } from './store-fixtures';
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

  it('waits for the disk again after the commits that may skip it', async () => {
    const store = harness.store as SqliteStore;
    const synchronous = () =>
      (store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
    expect(synchronous()).toBe(2); // FULL
    await store.takeRecovery('no-such-recovery-id-000', 'nobody', new Date());
    await store.recordRightGuess('nobody', 1, new Date());
    expect(synchronous()).toBe(2);
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
