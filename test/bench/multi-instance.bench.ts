/**
 * Recoveries per second (start + finish with the right tag) for one vault process and for three
 * on this machine, with the PostgreSQL and SQLite stores side by side, measured in one run.
 *
 * Argon2id and the client's OPRF arithmetic are excluded: each user's recovery is made once
 * through the real client, its blinded element and unlock tag are captured, and the load
 * replays them over raw HTTP (the realm's answer to the same blinded element is the same, so the
 * tag stays right). What remains is the vault's work: limits, auth, store, HSM unwrap + two
 * ECDH derives, HSM open of the sealed payload, the counter reset.
 *
 * The database is `BKV_TEST_DATABASE_URL` (a scratch database is made and dropped); without it
 * only SQLite runs. `BKV_BENCH_SECONDS` sets the measured time per row (default 6).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTestToken } from '@bkv/hsm/testing';
import { call } from '../support/http';
import { createScratchDatabase, TEST_DATABASE_URL } from '../support/pg-database';
import { startVaultCluster, type VaultCluster } from '../support/vault-cluster';

const USERS = 48;
const WARM_UP_MS = 1500;
const MEASURE_MS = Number(process.env.BKV_BENCH_SECONDS ?? 6) * 1000;
const HSM_POOL = 4;

/** One user's recovery, ready to replay. */
interface Replay {
  token: string;
  version: number;
  blindedElement: string;
  unlockTag: string;
}

interface Row {
  store: string;
  instances: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Enrolls a user and captures what its recovery sent, through the real client. */
async function prepare(cluster: VaultCluster, user: string): Promise<Replay> {
  const url = cluster.urls[0]!;
  await (await cluster.clientFor(user, url)).enroll(`${user} passphrase`);
  const sent: Record<string, Record<string, unknown>> = {};
  const capture: typeof fetch = async (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input.toString()).pathname;
    if (init?.method === 'POST' && typeof init.body === 'string') {
      sent[path.endsWith('/finish') ? 'finish' : 'start'] = JSON.parse(init.body) as Record<
        string,
        unknown
      >;
    }
    return fetch(input, init);
  };
  await (await cluster.clientFor(user, url, capture)).recover(`${user} passphrase`);
  return {
    token: await cluster.tokenFor(user),
    version: sent.start!.version as number,
    blindedElement: sent.start!.blindedElement as string,
    unlockTag: sent.finish!.unlockTag as string,
  };
}

/** One recovery: start on one instance, finish on the next (as behind a load balancer). */
async function recoverOnce(urls: string[], turn: number, replay: Replay): Promise<boolean> {
  const startUrl = urls[turn % urls.length]!;
  const finishUrl = urls[(turn + 1) % urls.length]!;
  const started = await call(startUrl, 'POST', '/v1/recoveries', {
    token: replay.token,
    json: { version: replay.version, blindedElement: replay.blindedElement },
  });
  if (started.status !== 201) return false;
  const finished = await call(
    finishUrl,
    'POST',
    `/v1/recoveries/${started.body.recoveryId as string}/finish`,
    { token: replay.token, json: { unlockTag: replay.unlockTag } },
  );
  return finished.status === 200;
}

/** Every user recovers in a loop of its own; counts what completes inside the window. */
async function load(cluster: VaultCluster, replays: Replay[]): Promise<Omit<Row, 'store'>> {
  const latencies: number[] = [];
  let errors = 0;
  const begin = Date.now();
  const measureFrom = begin + WARM_UP_MS;
  const end = measureFrom + MEASURE_MS;
  await Promise.all(
    replays.map(async (replay, i) => {
      for (let turn = i; Date.now() < end; turn += 1) {
        const t0 = performance.now();
        const ok = await recoverOnce(cluster.urls, turn, replay);
        const done = Date.now();
        if (done < measureFrom || done > end) continue;
        if (ok) latencies.push(performance.now() - t0);
        else errors += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    instances: cluster.urls.length,
    perSecond: latencies.length / (MEASURE_MS / 1000),
    p50: at(0.5),
    p99: at(0.99),
    errors,
  };
}

async function measure(name: string, store: Record<string, unknown>, instances: number) {
  const cluster = await startVaultCluster({ instances, store, hsmPoolSize: HSM_POOL });
  try {
    const replays: Replay[] = [];
    for (let i = 0; i < USERS; i += 1) replays.push(await prepare(cluster, `user-${i}`));
    await sleep(200);
    return { store: name, ...(await load(cluster, replays)) };
  } finally {
    await cluster.close();
  }
}

function printTable(rows: Row[]): void {
  const line = (cells: string[]) =>
    process.stdout.write(`| ${cells.map((c, i) => c.padStart(i < 1 ? 10 : 12)).join(' | ')} |\n`);
  line(['store', 'instances', 'recoveries/s', 'p50 ms', 'p99 ms', 'errors']);
  for (const r of rows) {
    line([
      r.store,
      String(r.instances),
      r.perSecond.toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.errors),
    ]);
  }
}

export async function main(): Promise<void> {
  process.stdout.write(
    `${USERS} users recovering in parallel, ${MEASURE_MS / 1000} s per row after ` +
      `${WARM_UP_MS / 1000} s warm-up; HSM pool ${HSM_POOL} per process; loopback HTTP.\n`,
  );
  // One token outlives the rows, so the SoftHSM folder of this process (removed with its last
  // token) stays put between rows; a child vault once failed to log in after it was remade.
  const keeper = await makeTestToken();
  try {
    await measureAll();
  } finally {
    await keeper.cleanup();
  }
}

async function measureAll(): Promise<void> {
  const rows: Row[] = [];
  rows.push(await measure('sqlite', { kind: 'sqlite' }, 1));

  if (TEST_DATABASE_URL === undefined) {
    process.stdout.write('*** PostgreSQL rows SKIPPED: set BKV_TEST_DATABASE_URL ***\n');
  } else {
    const database = await createScratchDatabase(TEST_DATABASE_URL);
    try {
      const store = { kind: 'postgres', url: database.url, poolSize: 10 };
      rows.push(await measure('postgres', store, 1));
      // A fresh schema for three instances is not needed: other users' rows do not interfere.
      rows.push(await measure('postgres', store, 3));
    } finally {
      await database.drop();
    }
  }

  printTable(rows);
  const rate = (store: string, n: number) =>
    rows.find((r) => r.store === store && r.instances === n)?.perSecond;
  const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a');
  process.stdout.write(
    `postgres x1 / sqlite x1: ${ratio(rate('postgres', 1), rate('sqlite', 1))}\n` +
      `postgres x3 / postgres x1: ${ratio(rate('postgres', 3), rate('postgres', 1))}\n` +
      `postgres x3 / sqlite x1: ${ratio(rate('postgres', 3), rate('sqlite', 1))}\n`,
  );
}
