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
 * only SQLite runs. `BKV_BENCH_SECONDS` sets the measured time per round (default 4),
 * `BKV_BENCH_ROUNDS` the rounds (default 3).
 */
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../support/http';
import { createScratchDatabase, TEST_DATABASE_URL } from '../support/pg-database';
import { startVaultCluster, type VaultCluster } from '../support/vault-cluster';
import { statFields } from './support-proc-stat';

const USERS = 48;
const WARM_UP_MS = 1000;
const MEASURE_MS = Number(process.env.BKV_BENCH_SECONDS ?? 4) * 1000;
const ROUNDS = Number(process.env.BKV_BENCH_ROUNDS ?? 3);
const HSM_POOL = 4;
/** Linux's USER_HZ, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

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
  rates: number[];
  p50: number;
  p99: number;
  cpuMs: number;
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

/** CPU seconds (user + system) a process has used, from /proc; undefined off Linux. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const field = statFields(String(pid));
    return (field(14) + field(15)) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function clusterCpu(cluster: VaultCluster): number {
  return cluster.instances.reduce((sum, p) => sum + (cpuSeconds(p.child.pid) ?? NaN), 0);
}

/** Every user recovers in a loop of its own; counts what completes inside the window. */
async function load(setup: Setup): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  const measureFrom = Date.now() + WARM_UP_MS;
  const end = measureFrom + MEASURE_MS;
  let cpuFrom = NaN;
  const mark = setTimeout(() => (cpuFrom = clusterCpu(setup.cluster)), WARM_UP_MS);
  await Promise.all(
    setup.replays.map(async (replay, i) => {
      for (let turn = i; Date.now() < end; turn += 1) {
        const t0 = performance.now();
        const ok = await recoverOnce(setup.cluster.urls, turn, replay);
        const done = Date.now();
        if (done < measureFrom || done > end) continue;
        if (ok) latencies.push(performance.now() - t0);
        else errors += 1;
      }
    }),
  );
  clearTimeout(mark);
  const cpu = clusterCpu(setup.cluster) - cpuFrom;
  return { latencies, errors, cpuMsPerRecovery: (cpu * 1000) / latencies.length };
}

interface Setup {
  store: string;
  cluster: VaultCluster;
  replays: Replay[];
}

interface Sample {
  latencies: number[];
  errors: number;
  cpuMsPerRecovery: number;
}

async function setUp(store: string, settings: Record<string, unknown>, instances: number) {
  const cluster = await startVaultCluster({ instances, store: settings, hsmPoolSize: HSM_POOL });
  const replays: Replay[] = [];
  try {
    for (let i = 0; i < USERS; i += 1)
      replays.push(await prepare(cluster, `${store}-${instances}-user-${i}`));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return { store, cluster, replays };
}

/** The median round's rate, with latency quantiles over all rounds. */
function summarise(setup: Setup, samples: Sample[]): Row {
  const rates = samples.map((s) => s.latencies.length / (MEASURE_MS / 1000)).sort((a, b) => a - b);
  const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const at = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))] ?? 0;
  const cpu = samples.map((s) => s.cpuMsPerRecovery).sort((a, b) => a - b);
  return {
    store: setup.store,
    instances: setup.cluster.urls.length,
    perSecond: rates[Math.floor(rates.length / 2)]!,
    rates,
    p50: at(0.5),
    p99: at(0.99),
    cpuMs: cpu[Math.floor(cpu.length / 2)]!,
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
  };
}

function printTable(rows: Row[]): void {
  const line = (cells: string[]) =>
    process.stdout.write(`| ${cells.map((c, i) => c.padStart(i === 3 ? 18 : 10)).join(' | ')} |\n`);
  line(['store', 'instances', 'recov/s', 'rounds', 'p50 ms', 'p99 ms', 'vault CPU', 'errors']);
  for (const r of rows) {
    line([
      r.store,
      String(r.instances),
      r.perSecond.toFixed(0),
      r.rates.map((x) => x.toFixed(0)).join(' '),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      `${r.cpuMs.toFixed(1)} ms`,
      String(r.errors),
    ]);
  }
}

export async function main(): Promise<void> {
  process.stdout.write(
    `${USERS} users recovering in parallel; ${ROUNDS} interleaved rounds of ` +
      `${MEASURE_MS / 1000} s (after ${WARM_UP_MS / 1000} s warm-up) per configuration; HSM ` +
      `pool ${HSM_POOL} per process; loopback HTTP; ${availableParallelism()} cores, load ` +
      `${loadavg()[0]!.toFixed(1)}. recov/s is the median round; vault CPU is per recovery, ` +
      'summed over the vault processes.\n',
  );
  const database = TEST_DATABASE_URL && (await createScratchDatabase(TEST_DATABASE_URL));
  const setups: Setup[] = [];
  try {
    setups.push(await setUp('sqlite', { kind: 'sqlite' }, 1));
    if (database) {
      const store = { kind: 'postgres', url: database.url, poolSize: 10 };
      setups.push(await setUp('postgres', store, 1));
      // The same database: the three-instance users are other rows, of a realm of their own.
      setups.push(await setUp('postgres', store, 3));
    } else {
      process.stdout.write('*** PostgreSQL rows SKIPPED: set BKV_TEST_DATABASE_URL ***\n');
    }

    // Rounds interleave the configurations, so that a busy moment of the machine does not
    // fall on one configuration alone.
    const samples = setups.map(() => [] as Sample[]);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [i, setup] of setups.entries()) {
        await sleep(200);
        samples[i]!.push(await load(setup));
      }
    }
    report(setups.map((setup, i) => summarise(setup, samples[i]!)));
  } finally {
    await Promise.all(setups.map((s) => s.cluster.close()));
    if (database) await database.drop();
  }
}

function report(rows: Row[]): void {
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
