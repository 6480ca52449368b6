/**
 * The store contract against PostgreSQL, plus what only a server can do: several instances
 * migrating at once, and failures (refused connections, killed backends, timeouts) that must
 * surface as STORE_UNAVAILABLE and heal without a restart. Racing starts share one pool of
 * ten connections, so they truly run side by side on the server.
 */
import { createServer } from 'node:net';
import { Client } from 'pg';

import { openStore } from './open-store';
import {
  createScratchDatabase,
  describeWithDatabase,
  type ScratchDatabase,
} from '../../../../test/support/pg-database';
import { PG_MIGRATIONS } from './pg-schema';
import { PgStore } from './pg-store';
import { storeContract, type StoreHarness } from './store.contract';
import { startParams as startParamsOf } from './params';
import { PG_SQL } from './pg-sql';
import { valuesFor } from './pg-named';
import { at, enrolled, startOf } from './store-fixtures';

describeWithDatabase('PostgreSQL', describePgStore);

function describePgStore(serverUrl: string): void {
  let database: ScratchDatabase;
  let harness: StoreHarness;
  let raw: Client;

  beforeAll(async () => {
    database = await createScratchDatabase(serverUrl);
    const store = await openStore({ kind: 'postgres', url: database.url, poolSize: 10 });
    raw = new Client({ connectionString: database.url });
    await raw.connect();
    harness = {
      store,
      rawRecord: async (userId) => {
        const result = await raw.query('SELECT * FROM records WHERE user_id = $1', [userId]);
        return result.rows[0] as Record<string, unknown> | undefined;
      },
      raceStarts: (starts) => Promise.all(starts.map((start) => store.startRecovery(start))),
    };
  });

  afterAll(async () => {
    await raw?.end();
    await harness?.store.close();
    await database?.drop();
  });

  describe('PgStore', () => {
    storeContract(() => harness);

    it('migrates once when several instances start at once', async () => {
      const fresh = await createScratchDatabase(serverUrl);
      const stores = Array.from({ length: 4 }, () => new PgStore({ url: fresh.url, poolSize: 2 }));
      try {
        await Promise.all(stores.map((store) => store.migrate()));
        await enrolled(stores[0]!);
        const check = new Client({ connectionString: fresh.url });
        await check.connect();
        const applied = await check.query('SELECT version FROM schema_migrations ORDER BY 1');
        await check.end();
        expect(applied.rows).toEqual(PG_MIGRATIONS.map(({ version }) => ({ version })));
      } finally {
        await Promise.all(stores.map((store) => store.close()));
        await fresh.drop();
      }
    });

    it("remembers an existing record's version when it adds record generations", async () => {
      // A database as the first schema left it, with a tombstone at version 4.
      const fresh = await createScratchDatabase(serverUrl);
      const old = new Client({ connectionString: fresh.url });
      const store = new PgStore({ url: fresh.url, poolSize: 1 });
      try {
        await old.connect();
        await old.query(`CREATE TABLE schema_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
        await old.query(PG_MIGRATIONS[0]!.sql);
        await old.query('INSERT INTO schema_migrations VALUES (1, $1, 0)', [
          PG_MIGRATIONS[0]!.name,
        ]);
        await old.query(`INSERT INTO records (user_id, version, state, kdf, guess_limit,
          wrap_key_id, created_at, updated_at, locked_at)
          VALUES ('user-old', 4, 'locked', '{}', 1, 1, 0, 0, 0)`);

        await store.migrate();
        await store.deleteRecord('user-old');
        expect(await store.lastVersion('user-old')).toBe(4);
      } finally {
        await old.end();
        await store.close();
        await fresh.drop();
      }
    });

    describe('racing a start held open in another session', () => {
      /** Runs the guess-consuming statement in its own transaction and leaves it open. */
      async function heldStart(userId: string) {
        const session = new Client({ connectionString: database.url });
        await session.connect();
        await session.query('BEGIN');
        const start = startParamsOf(startOf(userId, at(2000)));
        const consumed = await session.query(
          PG_SQL.startRecovery.text,
          valuesFor(PG_SQL.startRecovery, start),
        );
        expect(consumed.rows).toHaveLength(1);
        return {
          /** Resolves once another session waits for a lock this one holds. */
          waitedOn: async () => {
            for (;;) {
              const waiting = await raw.query(
                `SELECT count(*)::integer AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'`,
              );
              if ((waiting.rows[0] as { n: number }).n > 0) return;
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          },
          commit: async () => {
            await session.query('COMMIT');
            await session.end();
          },
        };
      }

      it('keeps the guess of a start that commits while a reset waits for the row', async () => {
        const { userId } = await enrolled(harness.store);
        const held = await heldStart(userId);

        const reset = harness.store.recordRightGuess(userId, 1, at(3000));
        await held.waitedOn();
        await held.commit();
        await reset;

        // The held start's evaluation went out: its guess stays spent.
        expect((await harness.rawRecord(userId))!.guesses_used).toBe(1);
      });

      it('leaves no pending recovery of a start that commits while a delete waits', async () => {
        const { userId } = await enrolled(harness.store);
        const held = await heldStart(userId);

        const deleted = harness.store.deleteRecord(userId);
        await held.waitedOn();
        await held.commit();
        expect(await deleted).toBe(true);

        const left = await raw.query('SELECT * FROM pending_recoveries WHERE user_id = $1', [
          userId,
        ]);
        expect(left.rows).toEqual([]);
      });
    });

    describe('when PostgreSQL fails', () => {
      it('reports a refused connection as STORE_UNAVAILABLE', async () => {
        const url = new URL(database.url);
        url.port = String(await closedPort());
        const store = new PgStore({ url: url.toString(), connectTimeoutMs: 2000 });
        const failure = await store.ping().catch((err: unknown) => err);
        await store.close();
        expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect((failure as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
      });

      it('reports a backend killed mid-query as STORE_UNAVAILABLE, then heals', async () => {
        const store = outageStore();
        const { userId } = await enrolled(store);

        const stuck = await whileLocked(async () => {
          const pending = store.getRecord(userId).catch((err: unknown) => err);
          await waitForLockWait();
          await raw.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'bkv-outage'`,
            [database.name],
          );
          return pending;
        });
        expect(stuck).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect((stuck as Error).cause).toMatchObject({ code: '57P01' });

        // The pool drops the broken client and opens a new one on demand.
        expect(await store.getRecord(userId)).toMatchObject({ state: 'active' });
        await store.close();
      });

      it('survives idle connections killed under it', async () => {
        const idleErrors: Error[] = [];
        const store = outageStore((err) => idleErrors.push(err));
        await Promise.all([store.ping(), store.ping(), store.ping()]);
        const killed = await raw.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = $1 AND application_name = 'bkv-outage'`,
          [database.name],
        );
        expect(killed.rowCount).toBeGreaterThan(0);

        // Each idle client reports its death to the pool, which drops it; none crashes us.
        for (let i = 0; i < 100 && idleErrors.length < killed.rowCount!; i += 1) await sleep(20);
        expect(idleErrors).toHaveLength(killed.rowCount!);
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
      });

      it('reports a statement past its timeout as STORE_UNAVAILABLE', async () => {
        const store = outageStore(undefined, 200);
        const { userId } = await enrolled(store);
        const timedOut = await whileLocked(() =>
          store.getRecord(userId).catch((err: unknown) => err),
        );
        expect(timedOut).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect((timedOut as Error).cause).toMatchObject({ code: '57014' });
        expect(await store.getRecord(userId)).toMatchObject({ state: 'active' });
        await store.close();
      });
    });
  });

  /** A store of its own, so that killing its backends leaves the shared one alone. */
  function outageStore(onIdleError?: (err: Error) => void, statementTimeoutMs = 5000) {
    const options = { url: database.url, poolSize: 3, statementTimeoutMs, onIdleError };
    return new PgStore({ ...options, applicationName: 'bkv-outage' });
  }

  /** Runs `work` while another connection holds the records table locked. */
  async function whileLocked<T>(work: () => Promise<T>): Promise<T> {
    const locker = new Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE records IN ACCESS EXCLUSIVE MODE');
      return await work();
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  }

  async function waitForLockWait(): Promise<void> {
    for (let i = 0; i < 200; i += 1) {
      const waiting = await raw.query(
        `SELECT 1 FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'bkv-outage' AND wait_event_type = 'Lock'`,
        [database.name],
      );
      if (waiting.rowCount) return;
      await sleep(10);
    }
    throw new Error('the query never waited for the lock');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
